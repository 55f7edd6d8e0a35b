using System.Globalization;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// Issue 28 item 3's watchdog: how late the stall rule fires. Per round (<c>--rounds</c>) a fresh hive with
/// <c>StallMinutes</c> 0.05 (3 s) and room for every turn; 50 agents each take a turn through <c>begin_turn</c> (one
/// every 20 ms, so the thresholds fall at every phase of the once-a-second <c>TurnClock</c>) and hang: the connection
/// stays open, no <c>record_turn</c>. Once every agent's question is in, the figures come from the database's own
/// stamps: nudge latency = the <c>kind='nudge'</c> message's <c>sent_at</c> − (<c>granted_at</c> + StallMinutes);
/// detection latency = the <c>hive</c> question's <c>asked_at</c> − (<c>granted_at</c> + 2 × StallMinutes).
/// </summary>
internal sealed class WatchdogBench : IBenchMode
{
    public string Name => "watchdog";
    public string Summary => "the stall rule: threshold -> nudge and threshold -> operator question, 50 hanging turns";

    private const int AgentCount = 50;
    private const double StallMinutes = 0.05;
    private static readonly TimeSpan Stall = TimeSpan.FromMinutes(StallMinutes);
    private static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(20);

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("watchdog");
        PrintHeader("Hive watchdog benchmark (issue 28 item 3)", root);
        Console.WriteLine($"{AgentCount} agents per round, each one begin_turn (one every {Spacing.TotalMilliseconds} ms) then hanging; " +
                          $"StallMinutes {StallMinutes.ToString(CultureInfo.InvariantCulture)} ({Stall.TotalSeconds} s), " +
                          $"MaxConcurrentTurns {AgentCount + 14}, {options.Rounds} rounds, TurnClock ticks every 1 s");
        try
        {
            var nudges = new List<double>();
            var questions = new List<double>();
            var ok = true;
            for (var round = 0; round < options.Rounds; round++)
            {
                var (n, q, complete) = await RoundAsync(Path.Combine(root, $"round{round}"));
                Console.WriteLine($"round {round}: nudge {Latency.Of(n)}");
                Console.WriteLine($"round {round}: question {Latency.Of(q)}");
                nudges.AddRange(n);
                questions.AddRange(q);
                ok &= complete;
            }
            Console.WriteLine($"all rounds, threshold granted_at + {Stall.TotalSeconds} s -> nudge sent_at:        {Latency.Of(nudges)}");
            Console.WriteLine($"all rounds, threshold granted_at + {2 * Stall.TotalSeconds} s -> question asked_at:    {Latency.Of(questions)}");
            Console.WriteLine("(a rule checked once a second: expect 0-1000 ms plus the firing's own change; the stamps are ms-precision text)");
            Console.WriteLine($"load average at end: {LoadAverage()}");
            return ok ? 0 : 1;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    private static async Task<(List<double> Nudges, List<double> Questions, bool Complete)> RoundAsync(string dataDir)
    {
        var names = Enumerable.Range(0, AgentCount).Select(i => $"w{i:00}").ToArray();
        var connections = new List<AgentClient>();
        await using var hive = await HiveInstance.StartOnAsync(dataDir, names,
            ["--Logging:LogLevel:Microsoft.AspNetCore", "Error",
             "--Hive:Governance:StallMinutes", StallMinutes.ToString(CultureInfo.InvariantCulture),
             "--Hive:Governance:MaxConcurrentTurns", (AgentCount + 14).ToString(CultureInfo.InvariantCulture)]);
        try
        {
            foreach (var name in names)
            {
                var agent = await hive.ConnectAsync(name);
                connections.Add(agent);
                var reply = AgentClient.Ok(await agent.CallAsync(new { op = "begin_turn", wait_ms = 1000 }));
                if (!reply.TryGetProperty("turn_id", out var turn) || turn.ValueKind != System.Text.Json.JsonValueKind.Number)
                    throw new InvalidOperationException($"{name} was not granted a turn: {reply}");
                await Task.Delay(Spacing); // pacing, not synchronisation: spreads the thresholds over the clock's phase
            }
            var complete = true;
            try
            {
                await HiveInstance.Until(() => hive.QueryDb<long>("SELECT count(*) FROM watchdog_questions WHERE rule = 'stall'") >= AgentCount,
                    TimeSpan.FromSeconds(60), "every hanging turn's question");
            }
            catch (TimeoutException e)
            {
                Console.WriteLine($"  INCOMPLETE: {e.Message}");
                complete = false;
            }

            var turns = hive.QueryDbList<(long Id, string Agent, string GrantedAt)>("SELECT id, agent, granted_at FROM governed_turns");
            var nudged = hive.QueryDbList<(string Agent, string SentAt)>(
                "SELECT recipient, sent_at FROM messages WHERE sender = 'hive' AND kind = 'nudge'").ToDictionary(m => m.Agent, m => m.SentAt);
            var asked = hive.QueryDbList<(long TurnId, string AskedAt)>("""
                SELECT w.turn_id, q.asked_at FROM watchdog_questions w JOIN questions q ON q.id = w.question_id
                WHERE w.rule = 'stall' AND q.asker = 'hive'
                """).ToDictionary(q => q.TurnId, q => q.AskedAt);
            var nudges = new List<double>();
            var questions = new List<double>();
            foreach (var turn in turns)
            {
                var granted = Parse(turn.GrantedAt);
                if (nudged.TryGetValue(turn.Agent, out var sentAt)) nudges.Add((Parse(sentAt) - (granted + Stall)).TotalMilliseconds);
                if (asked.TryGetValue(turn.Id, out var askedAt)) questions.Add((Parse(askedAt) - (granted + 2 * Stall)).TotalMilliseconds);
            }
            if (turns.Count != AgentCount || nudges.Count != AgentCount || questions.Count != AgentCount)
            {
                Console.WriteLine($"  MISSING: {turns.Count} turns, {nudges.Count} nudges, {questions.Count} questions (expected {AgentCount} each)");
                complete = false;
            }
            if (nudges.Concat(questions).Any(ms => ms < 0))
            {
                Console.WriteLine("  EARLY: a firing stamped before its threshold");
                complete = false;
            }
            return (nudges, questions, complete);
        }
        finally
        {
            foreach (var connection in connections) await connection.DisposeAsync();
        }
    }

    private static DateTimeOffset Parse(string stamp) =>
        DateTimeOffset.Parse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
