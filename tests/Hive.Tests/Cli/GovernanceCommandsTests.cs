using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Features.Governance;

namespace Hive.Tests.Cli;

/// <summary>
/// The hivectl half: <c>halt</c>, <c>resume</c>, <c>pause</c>, <c>budget</c>, <c>turns</c>,
/// <c>quota-clear</c> (operator, HTTP) and <c>quota-hit</c> (agent, socket) through the built hivectl against a real hive:
/// each does what it says and prints it, <c>--json</c> the governance document or entry. The tests of this class share a
/// hive and run one after another; each leaves the hive running and unpaused.
/// </summary>
public sealed class GovernanceCommandsTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private Task<GovernanceView> GovernanceAsync() => _hive.GetAsync<GovernanceView>("/api/governance");

    [Fact]
    public async Task Halt_and_resume_stop_and_restart_the_hive_and_say_so()
    {
        var halted = (await fixture.OperatorAsync("halt", "--reason", "maintenance", "--json")).Ok().JsonAs<GovernanceView>();
        Assert.Equal("maintenance", halted.Halted!.Reason);
        Assert.NotNull((await GovernanceAsync()).Halted);

        var again = (await fixture.OperatorAsync("halt")).Ok().Stdout; // halting a halted hive changes nothing
        Assert.Contains("halted", again);
        Assert.Contains("maintenance", again);
        Assert.Contains("halted", (await fixture.OperatorAsync("turns")).Ok().Stdout);

        Assert.Contains("running", (await fixture.OperatorAsync("resume")).Ok().Stdout);
        // Present and null, raw: a record cannot tell it from absent.
        Assert.Equal(JsonValueKind.Null, (await _hive.GetJsonAsync("/api/governance")).GetProperty("halted").ValueKind);
    }

    [Fact]
    public async Task Pause_and_resume_an_agent_and_an_unknown_one_is_not_found()
    {
        var paused = (await fixture.OperatorAsync("pause", "bob", "--json")).Ok().JsonAs<GovernanceView>();
        Assert.Contains(paused.Paused, p => p.Agent == "bob");
        Assert.Contains("bob", (await fixture.OperatorAsync("turns")).Ok().Stdout.Split('\n').Single(l => l.StartsWith("paused:", StringComparison.Ordinal)));

        Assert.Equal("bob resumed", (await fixture.OperatorAsync("resume", "bob")).Ok().Stdout.Trim());
        Assert.DoesNotContain((await GovernanceAsync()).Paused, p => p.Agent == "bob");

        (await fixture.OperatorAsync("pause", "nobody", "--json")).Refused("not_found");
        (await fixture.OperatorAsync("resume", "nobody")).Refused("not_found");
    }

    [Fact]
    public async Task Budget_changes_only_the_caps_given_and_none_clears_one()
    {
        var set = (await fixture.OperatorAsync("budget", "alice", "--daily-usd", "1.5", "--monthly-tokens", "2000000", "--json")).Ok().JsonAs<BudgetView>();
        Assert.Equal(1.5, set.DailyUsd);
        Assert.Equal(2_000_000, set.MonthlyTokens);

        // A second change keeps what it does not name. A cap that is none is present and null: read raw (a record cannot
        // tell it from absent).
        (await fixture.OperatorAsync("budget", "alice", "--monthly-usd", "20")).Ok();
        var aliceRun = (await fixture.OperatorAsync("budget", "alice", "--json")).Ok();
        var alice = aliceRun.JsonAs<BudgetView>();
        Assert.Equal("alice", alice.Scope);
        Assert.Equal(1.5, alice.DailyUsd);
        Assert.Equal(20, alice.MonthlyUsd);
        Assert.Equal(2_000_000, alice.MonthlyTokens);
        Assert.Equal(JsonValueKind.Null, aliceRun.Json.GetProperty("daily_tokens").ValueKind);

        (await fixture.OperatorAsync("budget", "alice", "--daily-usd", "none")).Ok();
        var cleared = (await _hive.GetJsonAsync("/api/governance")).GetProperty("budgets").EnumerateArray().Single(b => b.GetProperty("scope").GetString() == "alice");
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("daily_usd").ValueKind);
        Assert.Equal(20, cleared.Deserialize<BudgetView>(HiveJson.Options)!.MonthlyUsd);

        // Every budget, the hive's first, as a table of spent against cap.
        var table = (await fixture.OperatorAsync("budget")).Ok().Stdout.Split('\n');
        Assert.StartsWith("SCOPE", table[0]);
        Assert.StartsWith("*", table[1]);
        Assert.Matches(@"^alice\s+0\.00 / -\s+0\.00 / 20\.00\s+0 / -\s+0 / 2,000,000", table.Single(l => l.StartsWith("alice", StringComparison.Ordinal)));

        // An agent with no budget listed: no caps, nothing spent; no such agent: not found.
        var bob = (await fixture.OperatorAsync("budget", "bob", "--json")).Ok();
        Assert.Equal(JsonValueKind.Null, bob.Json.GetProperty("daily_usd").ValueKind);
        Assert.Equal(0, bob.JsonAs<BudgetView>().Spent.MonthUsd);
        (await fixture.OperatorAsync("budget", "nobody")).Refused("not_found");

        (await fixture.OperatorAsync("budget", "alice", "--daily-usd", "lots")).Usage();
        (await fixture.OperatorAsync("budget", "--daily-usd", "1")).Usage();
        (await fixture.OperatorAsync("budget", "alice", "--daily-usd", "-1")).Refused("validation");
        (await fixture.OperatorAsync("budget", "nobody", "--daily-usd", "1")).Refused("not_found");
        (await fixture.OperatorAsync("budget", "alice", "--monthly-usd", "none", "--monthly-tokens", "none")).Ok();
    }

    [Fact]
    public async Task Quota_hit_opens_a_circuit_turns_shows_it_and_quota_clear_ends_it()
    {
        var until = DateTimeOffset.UtcNow.AddHours(2);
        var iso = until.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        // An agent reports its own provider's limit only: one whose turns count against testprov.
        foreach (var name in new[] { "prov-agent", "prov-agent2" })
            using (var created = await fixture.Hive.Http.PostAsJsonAsync("/api/agents", new { name, driver = "external", provider = "testprov" }))
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        (await fixture.AgentAsync("alice", "quota-hit", "--provider", "testprov", "--until", iso)).Refused("forbidden");
        var hit = (await fixture.AgentAsync("prov-agent", "quota-hit", "--provider", "testprov", "--until", iso, "--json")).Ok().JsonAs<QuotaHitReply>();
        // One agent's report holds only itself; a second agent on the provider confirms it, and the circuit opens.
        (await fixture.AgentAsync("prov-agent2", "quota-hit", "--provider", "testprov", "--until", iso)).Ok();
        Assert.Equal("testprov", hit.Provider);
        Assert.Equal(iso, hit.Until.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));

        var turns = (await fixture.OperatorAsync("turns")).Ok().Stdout;
        Assert.Contains("slots:", turns);
        Assert.Matches(@"(?m)^testprov\s+\S+\s+\S+\s+prov-agent2?\s*$", turns[turns.IndexOf("circuits:", StringComparison.Ordinal)..]);
        var json = (await fixture.OperatorAsync("turns", "--json")).Ok().JsonAs<GovernanceView>();
        Assert.Contains(json.Circuits, c => c.Provider == "testprov");

        Assert.Contains("testprov", (await fixture.OperatorAsync("quota-clear", "testprov")).Ok().Stdout);
        Assert.DoesNotContain((await GovernanceAsync()).Circuits, c => c.Provider == "testprov");
        (await fixture.OperatorAsync("quota-clear", "testprov")).Refused("not_found");

        (await fixture.AgentAsync("alice", "quota-hit", "--until", "soon")).Usage();
    }

    [Fact]
    public async Task Turns_lists_the_running_turns_with_their_age_then_the_queue()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var granted = await alice.CallAsync(GovernanceVerbs.BeginTurn, new BeginTurnArgs(null));
        var turnId = granted.TurnId!.Value;

        var text = (await fixture.OperatorAsync("turns")).Ok().Stdout;
        var running = text[text.IndexOf("running:", StringComparison.Ordinal)..text.IndexOf("queue:", StringComparison.Ordinal)];
        Assert.Matches($@"(?m)^{turnId}\s+alice\s+anthropic\s+\d+\.\ds\s+running\s*$", running);
        Assert.Contains("slots: 1 of", text);

        // turns end ID: ended at once, as the operator's intervention; a second end is refused.
        Assert.Equal($"turn {turnId} ended", (await fixture.OperatorAsync("turns", "end", turnId.ToString(System.Globalization.CultureInfo.InvariantCulture), "--reason", "wrong task")).Ok().Stdout.Trim());
        Assert.Equal("ended", (await alice.CallAsync(GovernanceVerbs.WatchTurn, new WatchTurnArgs(turnId, 5000))).State);
        Assert.Equal("wrong task", _hive.QueryDb<string>("SELECT reason FROM interventions WHERE action = 'end_turn' ORDER BY id DESC LIMIT 1"));
        (await fixture.OperatorAsync("turns", "end", turnId.ToString(System.Globalization.CultureInfo.InvariantCulture))).Refused("conflict");
        (await fixture.OperatorAsync("turns", "end", "first")).Usage();
    }
}
