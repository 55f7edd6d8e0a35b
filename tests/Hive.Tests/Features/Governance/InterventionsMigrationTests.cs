using Dapper;
using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Features.Governance;
using Hive.Host;
using Hive.Shared.Audit;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Features.Governance;

/// <summary>
/// Governance's migration 0002 replaced <c>governance_audit</c> by <c>interventions</c> and copied its rows. A database as a
/// host left it after 0001 (every other feature fully migrated), holding one audit row of each action the old code wrote
/// (its <c>Audit.Write</c> callers at 36cc411~1, detail serialised the way it did), is opened by a real host: every row is
/// in <c>interventions</c> under its id and time, with the actor's authority on the ladder, and
/// <c>GET /api/interventions</c> lists them.
/// </summary>
public sealed class InterventionsMigrationTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-govmig-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        await TestDirectories.DeleteAsync(_dir);
    }

    private sealed record Old(long Id, string At, string Actor, string Action, string? Subject, string? Detail, long Authority);

    private static string Detail(object value) => JsonSerializer.Serialize(value, HiveJson.Options);

    /// <summary>One row of each action the 0001-era code audited, by the actors it used (the operator, an agent, the host).</summary>
    private static readonly Old[] OldRows =
    [
        new(1, "2026-11-20T08:00:00.000Z", "operator", "halt", null, Detail(new { reason = "maintenance window" }), 4),
        new(2, "2026-11-20T08:05:00.125Z", "operator", "resume", null, Detail(new { halted_by = "operator", halted_at = "2026-11-20T08:00:00.000Z" }), 4),
        new(3, "2026-11-20T09:00:00.000Z", "operator", "pause", "alice", null, 4),
        new(4, "2026-11-20T09:30:00.000Z", "operator", "resume", "alice", Detail(new { paused_by = "operator", paused_at = "2026-11-20T09:00:00.000Z" }), 4),
        new(5, "2026-11-20T10:00:00.000Z", "operator", "budget_set", "alice",
            Detail(new { before = new Caps(2.5, null, null, null), after = new Caps(9, null, 100_000, null) }), 4),
        new(6, "2026-11-20T11:00:00.000Z", "operator", "budget_answer", "*", Detail(new { question_id = 7, answer = "allow one more turn", applied = true }), 4),
        new(7, "2026-11-20T12:00:00.000Z", "alice", "quota_circuit_opened", "anthropic", Detail(new { until = "2026-11-20T13:00:00.000Z" }), 1),
        new(8, "2026-11-20T13:00:00.500Z", "hive", "quota_circuit_cleared", "anthropic", Detail(new { until = "2026-11-20T13:00:00.000Z" }), 5),
    ];

    /// <summary><c>hive.db</c> in the data dir as a host left it with Governance at 0001, holding <see cref="OldRows"/>.</summary>
    private void CreateDatabaseAfter0001()
    {
        DapperSetup.Configure();
        var db = new SqliteDb(Path.Combine(_dir, "hive.db"), "NORMAL");
        db.EnableWriteAheadLog();
        var governance = Migrator.FeatureName(typeof(Caps).Assembly);
        var scripts = HiveFeatures.Assemblies.SelectMany(Migrator.ScriptsOf).ToList();
        Assert.Contains(scripts, s => s.Feature == governance && s is { Version: 2, Name: "create_interventions" });
        Migrator.Apply(db, scripts.Where(s => s.Feature != governance || s.Version == 1), TimeProvider.System);
        using var connection = db.Open();
        Assert.Equal(1, connection.QuerySingle<long>("SELECT max(version) FROM schema_migrations WHERE feature = @governance", new { governance }));
        foreach (var row in OldRows)
            connection.Execute("INSERT INTO governance_audit (id, at, actor, action, subject, detail) VALUES (@Id, @At, @Actor, @Action, @Subject, @Detail)", row);
        SqliteConnection.ClearAllPools();
    }

    /// <summary>Each old row as the current code would have written it: action, reason, before, after.</summary>
    private static readonly Dictionary<long, (string Action, string? Reason, string? Before, string? After)> Reshaped = new()
    {
        [1] = ("halt", "maintenance window", """{"halted":false}""", """{"halted":true}"""),
        [2] = ("resume_hive", null, """{"halted":true,"halted_by":"operator","halted_at":"2026-11-20T08:00:00.000Z"}""", """{"halted":false}"""),
        [3] = ("pause", null, """{"paused":false}""", """{"paused":true}"""),
        [4] = ("resume", null, """{"paused":true,"paused_by":"operator","paused_at":"2026-11-20T09:00:00.000Z"}""", """{"paused":false}"""),
        [5] = ("budget_set", null, Detail(new Caps(2.5, null, null, null)), Detail(new Caps(9, null, 100_000, null))),
        [6] = ("budget_answer", "allow one more turn", """{"question_id":7}""", """{"applied":true}"""),
        [7] = ("quota_circuit_opened", "a usage or rate limit", null, """{"until":"2026-11-20T13:00:00.000Z"}"""),
        [8] = ("quota_circuit_cleared", null, """{"until":"2026-11-20T13:00:00.000Z"}""", null),
    };

    /// <summary>JSON text in one form (whatever spacing wrote it), or null.</summary>
    private static string? Normal(string? json) => json is null ? null : JsonSerializer.Serialize(JsonSerializer.Deserialize<JsonElement>(json));

    private sealed record Copied(long Id, string At, string Actor, long Authority, string? Target, string Action, string? Reason, string? Before,
        string? After, long? RevertedBy);

    [Fact]
    public async Task Every_governance_audit_row_is_in_interventions_with_its_actors_authority_and_listed_by_the_api()
    {
        CreateDatabaseAfter0001();

        await using var hive = await HiveInstance.StartOnAsync(_dir, ["alice"]);

        Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM sqlite_master WHERE name = 'governance_audit'"));
        var copied = hive.QueryDbList<Copied>("SELECT id, at, actor, authority, target, action, reason, before, after, reverted_by FROM interventions ORDER BY id");
        Assert.Equal(OldRows.Length, copied.Count);
        foreach (var (old, row) in OldRows.Zip(copied))
        {
            // The same id, time, actor (at its authority) and subject as target; the action and detail as the code writes
            // them now (0002's copy, reshaped by 0005).
            var (action, reason, before, after) = Reshaped[old.Id];
            Assert.Equal((old.Id, old.At, old.Actor, old.Authority, old.Subject, action, reason), (row.Id, row.At, row.Actor, row.Authority, row.Target, row.Action, row.Reason));
            Assert.Equal(Normal(before), Normal(row.Before));
            Assert.Equal(Normal(after), Normal(row.After));
            Assert.Null(row.RevertedBy);
        }

        var listed = await hive.GetAsync<List<InterventionView>>("/api/interventions");
        Assert.Equal(OldRows.Select(o => o.Id).Reverse(), listed.Select(i => i.Id));
        foreach (var (old, item) in OldRows.Reverse().Zip(listed))
        {
            Assert.Equal(old.Actor, item.Actor);
            Assert.Equal(old.Authority, item.Authority);
            Assert.Equal(old.Authority switch { 1 => "worker", 4 => "guardian", 5 => "system", _ => "?" }, item.AuthorityName);
            Assert.Equal(Reshaped[old.Id].Action, item.Action);
            Assert.Equal(old.Subject, item.Target);
            Assert.Equal(DateTimeOffset.Parse(old.At, System.Globalization.CultureInfo.InvariantCulture), item.At);
            Assert.Equal(Normal(Reshaped[old.Id].Before), item.Before is { ValueKind: not JsonValueKind.Null } before ? Normal(before.GetRawText()) : null);
        }
        Assert.Equal(["alice"], (await hive.GetAsync<List<InterventionView>>("/api/interventions?agent=alice"))
            .Select(i => i.Target).Distinct());

        // A new intervention continues after the copied ids.
        using (var pause = await hive.Http.PostAsync("/api/governance/agents/alice/pause", null)) pause.EnsureSuccessStatusCode();
        Assert.Equal(OldRows.Length + 1, hive.QueryDb<long>("SELECT max(id) FROM interventions WHERE action = 'pause' AND target = 'alice'"));
    }

    /// <summary>
    /// What a copied row should be to act as one the current code writes, so that revert and the dashboard's before → after
    /// work on it. 0002 copies the old <c>detail</c> whole into <c>after</c> and keeps the old action names, and these fail:
    /// a hive resume stays <c>resume</c> with no target (its revert answers 500: it is taken as an agent's resume of
    /// nobody); a budget set's caps before sit inside <c>after</c> with <c>before</c> NULL (its revert clears every cap
    /// instead of restoring the earlier ones); a halt's reason is in <c>after</c>, not <c>reason</c>.
    /// </summary>
    [Fact]
    public async Task Copied_rows_revert_as_rows_the_current_code_writes()
    {
        CreateDatabaseAfter0001();
        await using var hive = await HiveInstance.StartOnAsync(_dir, ["alice"]);
        var row = (long id) => hive.QueryDb<Copied>(
            "SELECT id, at, actor, authority, target, action, reason, before, after, reverted_by FROM interventions WHERE id = @id", new { id });

        Assert.Equal("maintenance window", row(1).Reason);
        Assert.Equal(InterventionActions.ResumeHive, row(2).Action);
        using (var revert = await hive.Http.PostAsync("/api/interventions/2/revert", null)) Assert.Equal(HttpStatusCode.OK, revert.StatusCode);
        Assert.Equal("operator", (await hive.GetAsync<GovernanceView>("/api/governance")).Halted!.By);

        Assert.Equal(Detail(new Caps(2.5, null, null, null)), row(5).Before);
        Assert.Equal(Detail(new Caps(9, null, 100_000, null)), row(5).After);
        using (var set = await hive.Http.PutAsJsonAsync("/api/governance/budgets/alice", new { daily_usd = 9, daily_tokens = 100_000 })) set.EnsureSuccessStatusCode();
        using (var revert = await hive.Http.PostAsync("/api/interventions/5/revert", null)) Assert.Equal(HttpStatusCode.OK, revert.StatusCode);
        var alice = (await hive.GetAsync<GovernanceView>("/api/governance")).Budgets.Single(b => b.Scope == "alice");
        Assert.Equal(2.5, alice.DailyUsd);
    }
}
