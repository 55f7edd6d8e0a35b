using Hive.Contracts.Governance;
using Hive.Contracts.TurnStats;
using Hive.Features.Governance;

namespace Hive.Tests.Features.Governance;

/// <summary>
/// A hive for the governor's socket and HTTP tests: two turns at once, a one-second stop grace. A halt, a circuit or a
/// budget is hive-wide, so the tests of a class run one after another on it and each leaves the hive as it found it.
/// </summary>
public class GovernanceHive : HiveFixture
{
    public const int Slots = 2;

    protected override string[] Args =>
        ["--Hive:Governance:MaxConcurrentTurns", Slots.ToString(), "--Hive:Containers:StopGraceSeconds", "1", "--Hive:Governance:QuotaDefaultMinutes", "1"];

    /// <summary>Asks for a turn on <paramref name="turn"/> (the connection the turn will belong to).</summary>
    public static async Task<JsonElement> BeginAsync(AgentClient turn, int waitMs = 0) =>
        AgentClient.Ok(await turn.CallAsync(new { op = "begin_turn", wait_ms = waitMs }));

    public static async Task<long> GrantedAsync(AgentClient turn, int waitMs = 5000)
    {
        var reply = await BeginAsync(turn, waitMs);
        Assert.True(reply.TryGetProperty("turn_id", out var id), $"not granted: {reply}");
        return id.GetInt64();
    }

    /// <summary>
    /// Waits until the turn's row is closed and its slot given back. The slot goes after the commit, so a test that begins
    /// the agent's next turn must wait for both, or it is refused as still running.
    /// </summary>
    public static Task UntilTurnEndedAsync(HiveInstance hive, long turn, TimeSpan? within = null) =>
        HiveInstance.Until(() => hive.QueryDb<long>("SELECT count(*) FROM governed_turns WHERE id = @turn AND ended_at IS NOT NULL", new { turn }) == 1
                && hive.Service<Admission>().Find(turn) is null,
            within ?? TimeSpan.FromSeconds(30), $"turn {turn} to end and give back its slot");

    /// <summary>A turn's record (as the harness sends it), for <paramref name="turnId"/> when given.</summary>
    public static object Record(long? turnId, double? cost = null, long input = 100, long output = 20, string model = "claude-test")
    {
        var now = DateTimeOffset.UtcNow;
        return new
        {
            op = "record_turn", turn_id = turnId, model, result_kind = "ok",
            started_at = global::Hive.Contracts.Json.UtcTimestamp.Format(now.AddSeconds(-1)), ended_at = global::Hive.Contracts.Json.UtcTimestamp.Format(now),
            input_tokens = input, output_tokens = output, cost_usd = cost,
        };
    }

    /// <summary><see cref="Record"/> as the verb's arguments, for the typed call.</summary>
    public static RecordTurnArgs RecordArgs(long? turnId, double? cost = null, long input = 100, long output = 20, string model = "claude-test")
    {
        var now = DateTimeOffset.UtcNow;
        return new RecordTurnArgs(model, null, "ok", now.AddSeconds(-1), now, null, input, output, null, null, null, null, null, null, null, cost, turnId);
    }

    /// <summary>Asks for a turn on <paramref name="turn"/>: the reply's record (throws when refused).</summary>
    public static Task<BeginTurnReply> BeginTurnAsync(AgentClient turn, int waitMs = 0) =>
        turn.CallAsync(GovernanceVerbs.BeginTurn, new BeginTurnArgs(waitMs));

    public async Task<JsonElement> GovernanceAsync() => await Hive.GetJsonAsync("/api/governance");

    public Task<GovernanceView> ViewAsync() => Hive.GetAsync<GovernanceView>("/api/governance");
}
