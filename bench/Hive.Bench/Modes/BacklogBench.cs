using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using Microsoft.Data.Sqlite;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The backlog bench: a hive holding 100 000 pending items, and <c>send</c>'s latency while 5 cold loads
/// (<c>GET /api/state</c> with the operator's Bearer token, read to the end) run in a loop beside it.
/// The backlog is spread so it respects the quotas (defaults 1 000 pending reminders and 100 open questions per agent):
/// 100 agents × (900 reminders due in an hour or more + 100 open questions to the operator), inserted straight into
/// the database after start-up (the quotas guard the verbs; the triggers keep <c>reminder_pending</c> right).
/// One client sends alice→bob one at a time, acknowledged, first alone (baseline), then with the loaders running,
/// until it has <c>--count</c> samples and every loader finished two loads. Goal: send p99 &lt; 20 ms under the loads.
/// </summary>
internal sealed class BacklogBench : IBenchMode
{
    public string Name => "backlog";
    public string Summary => "100 000 pending items: send p99 while 5 cold loads of /api/state run (goal < 20 ms)";

    private const int Agents = 100;
    private const int RemindersPerAgent = 900;
    private const int QuestionsPerAgent = 100;
    private const int Loaders = 5;
    private const double GoalMs = 20;
    private static readonly TimeSpan MaxLoaded = TimeSpan.FromSeconds(180);
    private const string Body = "status: the build of the meta repo is green; next, the forge sweep (see state/plan.md)";

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("backlog");
        PrintHeader("Hive backlog benchmark (issue 11 bench b)", root);
        var agents = Enumerable.Range(0, Agents).Select(i => $"agent-{i:D3}").ToArray();
        var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "hive"), ["alice", "bob", .. agents],
            ["--Hive:Database:Synchronous", options.Synchronous, "--Logging:LogLevel:Microsoft.AspNetCore", "Error"]);
        try
        {
            var fill = Stopwatch.StartNew();
            Fill(hive.DatabasePath, agents);
            Console.WriteLine($"backlog: {Stats.N(Agents * RemindersPerAgent)} pending reminders + {Stats.N(Agents * QuestionsPerAgent)} open questions " +
                              $"over {Agents} agents, inserted in {Stats.F(fill.Elapsed.TotalSeconds, 2)} s   synchronous: {options.Synchronous}");

            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Loaders + 1, AutomaticDecompression = DecompressionMethods.None };
            using var http = hive.CreateClient(handler: handler, timeout: TimeSpan.FromMinutes(5));
            await using var sender = await hive.ConnectLinesAsync("alice");
            var send = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { op = "send", to = "bob", body = Body }) + "\n");

            // Warm-up: JIT the send path and one cold load.
            var (bytes, firstLoad) = await ColdLoadAsync(http);
            Console.WriteLine($"/api/state: {Stats.Bytes(bytes)} in {Stats.F(firstLoad, 1)} ms (first, cold JIT)");
            for (var i = 0; i < Math.Max(300, options.Count / 10); i++) await TimedSend.MillisecondsAsync(sender, send);

            var alone = new List<double>();
            for (var i = 0; i < options.Count; i++) alone.Add(await TimedSend.MillisecondsAsync(sender, send));
            Console.WriteLine($"send alone:                 {Latency.Of(alone)}");

            using var stop = new CancellationTokenSource();
            var loadTimes = new List<double>();
            var loadBytes = 0L;
            var perLoader = new int[Loaders];
            var loaders = Enumerable.Range(0, Loaders).Select(n => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var (b, ms) = await ColdLoadAsync(http);
                    lock (loadTimes) { loadTimes.Add(ms); loadBytes = Math.Max(loadBytes, b); }
                    Interlocked.Increment(ref perLoader[n]);
                }
            })).ToArray();

            var loaded = new List<double>();
            var clock = Stopwatch.StartNew();
            var peakRss = 0L;
            while ((loaded.Count < options.Count || perLoader.Any(c => c < 2)) && clock.Elapsed < MaxLoaded)
            {
                loaded.Add(await TimedSend.MillisecondsAsync(sender, send));
                if (loaded.Count % 100 == 0) peakRss = Math.Max(peakRss, Environment.WorkingSet);
            }
            stop.Cancel();
            await Task.WhenAll(loaders);
            peakRss = Math.Max(peakRss, Environment.WorkingSet);

            var sends = Latency.Of(loaded);
            Console.WriteLine($"send under {Loaders} cold loads:  {sends}   over {Stats.F(clock.Elapsed.TotalSeconds, 1)} s");
            Console.WriteLine($"cold loads: {Stats.N(loadTimes.Count)} done, each {Latency.Of(loadTimes)}, {Stats.Bytes(loadBytes)} each   " +
                              $"process RSS (sampled) peak {Stats.Bytes(peakRss)}");
            Console.WriteLine($"load average at end: {LoadAverage()}");
            Console.WriteLine($"GOAL send p99 under cold loads < {GoalMs} ms: {Verdict(sends.P99, GoalMs)} ({Stats.F(sends.P99, 2)} ms)");
            return 0; // a missed goal is the verdict line, not the exit code (README, "Exit codes")
        }
        finally
        {
            await hive.DisposeAsync();
            RemoveOrKeep(root, options.Keep);
        }
    }

    private static async Task<(long Bytes, double Ms)> ColdLoadAsync(HttpClient http)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await http.GetAsync("/api/state", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0) total += read;
        return (total, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static void Fill(string databasePath, string[] agents)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False;Default Timeout=60");
        connection.Open();
        using var transaction = connection.BeginTransaction();
        using var reminder = connection.CreateCommand();
        reminder.Transaction = transaction;
        reminder.CommandText = """
            INSERT INTO reminders (agent, body, payload_path, due_at, created_at, attempt_count)
            VALUES ($agent, $body, NULL, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || $offset || ' seconds'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0);
            """;
        var rAgent = reminder.Parameters.Add("$agent", SqliteType.Text);
        var rBody = reminder.Parameters.Add("$body", SqliteType.Text);
        var rOffset = reminder.Parameters.Add("$offset", SqliteType.Integer);
        using var question = connection.CreateCommand();
        question.Transaction = transaction;
        question.CommandText = """
            INSERT INTO questions (asker, target, question, asked_at)
            VALUES ($agent, NULL, $question, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
            """;
        var qAgent = question.Parameters.Add("$agent", SqliteType.Text);
        var qText = question.Parameters.Add("$question", SqliteType.Text);
        var n = 0;
        foreach (var agent in agents)
        {
            rAgent.Value = agent;
            qAgent.Value = agent;
            for (var i = 0; i < RemindersPerAgent; i++)
            {
                rBody.Value = $"reminder {i} of {agent}: re-check the forge sweep and the meta repo, then report to the manager";
                rOffset.Value = 3600 + n++;
                reminder.ExecuteNonQuery();
            }
            for (var i = 0; i < QuestionsPerAgent; i++)
            {
                qText.Value = $"question {i} of {agent}: may I restart the build of the meta repo after the forge sweep?";
                question.ExecuteNonQuery();
            }
        }
        transaction.Commit();
    }
}
