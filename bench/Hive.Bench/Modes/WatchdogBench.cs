using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The watchdog: how late the stall rule fires. Per round (<c>--rounds</c>) a fresh hive with
/// <c>StallMinutes</c> 0.05 (3 s) and room for every turn; 50 agents each take a turn through <c>begin_turn</c> (one
/// every 20 ms, so the thresholds fall at every phase of the once-a-second <c>TurnClock</c>) and hang: the connection
/// stays open, no <c>record_turn</c>. Once every agent's question is in, the figures come from the database's own
/// stamps: nudge latency = the <c>kind='nudge'</c> message's <c>sent_at</c> − (<c>granted_at</c> + StallMinutes);
/// detection latency = the <c>hive</c> question's <c>asked_at</c> − (<c>granted_at</c> + 2 × StallMinutes). Both stamps
/// are the firing handler's clock reading, taken before its change commits; so, beside them, an SSE client of
/// <c>/api/events</c> (open before the first turn) stamps when the nudge's <c>sent</c> and the question's
/// <c>question_added</c> reached it (the host runs in this process, on the same clock), against the same thresholds: what an
/// operator's dashboard sees, the commit and the publication included.
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
            var all = new Figures();
            var ok = true;
            for (var round = 0; round < options.Rounds; round++)
            {
                var (figures, complete) = await RoundAsync(Path.Combine(root, $"round{round}"));
                Console.WriteLine($"round {round}: nudge    stamped {Latency.Of(figures.Nudges)}");
                Console.WriteLine($"round {round}: question stamped {Latency.Of(figures.Questions)}");
                Console.WriteLine($"round {round}: nudge    seen    {Latency.Of(figures.NudgesSeen)}");
                Console.WriteLine($"round {round}: question seen    {Latency.Of(figures.QuestionsSeen)}");
                all.Add(figures);
                ok &= complete;
            }
            Console.WriteLine($"all rounds, threshold granted_at + {Stall.TotalSeconds} s -> nudge sent_at:              {Latency.Of(all.Nudges)}");
            Console.WriteLine($"all rounds, threshold granted_at + {2 * Stall.TotalSeconds} s -> question asked_at:          {Latency.Of(all.Questions)}");
            Console.WriteLine($"all rounds, threshold granted_at + {Stall.TotalSeconds} s -> nudge 'sent' event read:     {Latency.Of(all.NudgesSeen)}");
            Console.WriteLine($"all rounds, threshold granted_at + {2 * Stall.TotalSeconds} s -> 'question_added' read:      {Latency.Of(all.QuestionsSeen)}");
            Console.WriteLine("(a rule checked once a second: expect 0-1000 ms plus the firing's own change; the stamps are ms-precision text)");
            Console.WriteLine($"load average at end: {LoadAverage()}");
            return ok ? 0 : 1;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    private sealed class Figures
    {
        public List<double> Nudges { get; } = [];
        public List<double> Questions { get; } = [];
        public List<double> NudgesSeen { get; } = [];
        public List<double> QuestionsSeen { get; } = [];

        public void Add(Figures round)
        {
            Nudges.AddRange(round.Nudges);
            Questions.AddRange(round.Questions);
            NudgesSeen.AddRange(round.NudgesSeen);
            QuestionsSeen.AddRange(round.QuestionsSeen);
        }
    }

    private static async Task<(Figures Figures, bool Complete)> RoundAsync(string dataDir)
    {
        var names = Enumerable.Range(0, AgentCount).Select(i => $"w{i:00}").ToArray();
        var connections = new List<AgentClient>();
        await using var hive = await HiveInstance.StartOnAsync(dataDir, names,
            ["--Logging:LogLevel:Microsoft.AspNetCore", "Error",
             "--Hive:Governance:StallMinutes", StallMinutes.ToString(CultureInfo.InvariantCulture),
             "--Hive:Governance:MaxConcurrentTurns", (AgentCount + 14).ToString(CultureInfo.InvariantCulture)]);
        // Wall-clock moments of SSE reads: one anchor maps the stream's Stopwatch stamps onto UtcNow.
        var (anchorWall, anchorTicks) = (DateTimeOffset.UtcNow, Stopwatch.GetTimestamp());
        DateTimeOffset Wall(long ticks) => anchorWall + Stopwatch.GetElapsedTime(anchorTicks, ticks);
        var nudgeSeen = new ConcurrentDictionary<string, DateTimeOffset>();
        var questionSeen = new ConcurrentDictionary<long, DateTimeOffset>();
        await using var events = await hive.OpenEventsAsync();
        using var reading = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            try
            {
                while (await events.NextAsync(reading.Token) is { } e)
                {
                    if (e.Type == "sent" && e.Json.GetProperty("kind").GetString() == "nudge")
                        nudgeSeen.TryAdd(e.Json.GetProperty("to").GetString()!, Wall(e.ReceivedAt));
                    else if (e.Type == "question_added" && e.Json.GetProperty("asker").GetString() == "hive")
                        questionSeen.TryAdd(e.Json.GetProperty("id").GetInt64(), Wall(e.ReceivedAt));
                }
            }
            catch (OperationCanceledException)
            {
                // the round is over
            }
        });
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
                await HiveInstance.Until(() => questionSeen.Count >= AgentCount && nudgeSeen.Count >= AgentCount, TimeSpan.FromSeconds(10),
                    "every nudge and question on the event stream");
            }
            catch (TimeoutException e)
            {
                Console.WriteLine($"  INCOMPLETE: {e.Message}");
                complete = false;
            }

            var turns = hive.QueryDbList<(long Id, string Agent, string GrantedAt)>("SELECT id, agent, granted_at FROM governed_turns");
            var nudged = hive.QueryDbList<(string Agent, string SentAt)>(
                "SELECT recipient, sent_at FROM messages WHERE sender = 'hive' AND kind = 'nudge'").ToDictionary(m => m.Agent, m => m.SentAt);
            var asked = hive.QueryDbList<(long TurnId, long QuestionId, string AskedAt)>("""
                SELECT w.turn_id, q.id, q.asked_at FROM watchdog_questions w JOIN questions q ON q.id = w.question_id
                WHERE w.rule = 'stall' AND q.asker = 'hive'
                """).ToDictionary(q => q.TurnId);
            await reading.CancelAsync();
            await reader;
            var figures = new Figures();
            foreach (var turn in turns)
            {
                var granted = Parse(turn.GrantedAt);
                if (nudged.TryGetValue(turn.Agent, out var sentAt)) figures.Nudges.Add((Parse(sentAt) - (granted + Stall)).TotalMilliseconds);
                if (nudgeSeen.TryGetValue(turn.Agent, out var seen)) figures.NudgesSeen.Add((seen - (granted + Stall)).TotalMilliseconds);
                if (!asked.TryGetValue(turn.Id, out var question)) continue;
                figures.Questions.Add((Parse(question.AskedAt) - (granted + 2 * Stall)).TotalMilliseconds);
                if (questionSeen.TryGetValue(question.QuestionId, out seen)) figures.QuestionsSeen.Add((seen - (granted + 2 * Stall)).TotalMilliseconds);
            }
            var (nudges, questions) = (figures.Nudges, figures.Questions);
            if (turns.Count != AgentCount || nudges.Count != AgentCount || questions.Count != AgentCount ||
                figures.NudgesSeen.Count != AgentCount || figures.QuestionsSeen.Count != AgentCount)
            {
                Console.WriteLine($"  MISSING: {turns.Count} turns, {nudges.Count} nudges, {questions.Count} questions, seen {figures.NudgesSeen.Count} " +
                                  $"nudges and {figures.QuestionsSeen.Count} questions (expected {AgentCount} each)");
                complete = false;
            }
            if (nudges.Concat(questions).Any(ms => ms < 0))
            {
                Console.WriteLine("  EARLY: a firing stamped before its threshold");
                complete = false;
            }
            return (figures, complete);
        }
        finally
        {
            await reading.CancelAsync();
            await reader;
            foreach (var connection in connections) await connection.DisposeAsync();
        }
    }

    private static DateTimeOffset Parse(string stamp) =>
        DateTimeOffset.Parse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
