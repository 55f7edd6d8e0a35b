using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hive.Bench.Infrastructure;
using Hive.Contracts.Json;
using Hive.Testing;
using Microsoft.Data.Sqlite;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// A SIGKILL crash soak with a count: the built host as a child process, killed with SIGKILL at random
/// moments while reminders fall due, restarted on the same data dir, N times. Each life schedules its share of the M
/// reminders to fall due over a ~450 ms window and is killed at a random moment inside it (the approach of
/// <c>tests/.../DeliverDueRemindersCrashTests.cs</c>; MaxAttempts is high because a kill may land on the same reminder more
/// than once). After a last, undisturbed life: every reminder delivered exactly once, the table empty, and
/// <c>PRAGMA integrity_check</c> = ok.
/// </summary>
internal sealed class CrashSoakBench : IBenchMode
{
    public string Name => "crash-soak";
    public string Summary => "SIGKILL the host N times while M reminders fall due; exactly-once delivery and integrity_check";

    private const int DefaultReminders = 1000;
    private const string Agent = "alice";
    private const double WindowMs = 450;
    /// <summary>Room to schedule a life's share before its window opens, even on a loaded machine.</summary>
    private const double LeadMs = 400;
    /// <summary>--burst: the tick period (the burst is picked up within one) plus ~0.6 ms per reminder to deliver it.</summary>
    private const double TickMs = 50;
    private const double BurstMsPerReminder = 0.6;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var reminders = options.Reminders ?? DefaultReminders;
        var kills = options.Kills ?? 20;
        if (reminders < kills) throw new ArgumentException("--reminders must be at least --kills (each life schedules its share)");
        var root = TempRoot("crash-soak");
        var dataDir = Path.Combine(root, "hive");
        PrintHeader("Hive reminders SIGKILL crash soak", dataDir);
        string[] args =
        [
            "--Hive:Reminders:TickSeconds", (TickMs / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Hive:Reminders:MaxAttempts", "1000",
            "--Hive:Database:Synchronous", options.Synchronous,
        ];
        Console.WriteLine($"host: dotnet {HostProcess.HostDll}");
        Console.WriteLine($"kills: {kills}   reminders: {Stats.N(reminders)}   synchronous: {options.Synchronous}   seed: {options.Seed}   " +
                          $"tick {Stats.F(TickMs / 1000)} s, MaxAttempts 1000   " +
                          (options.Burst
                              ? $"burst: each life's share due at one instant {LeadMs} ms ahead, killed within {TickMs} ms + {BurstMsPerReminder} ms per reminder of it"
                              : $"window per life: {WindowMs} ms after a {LeadMs} ms lead, killed at a random moment in it"));

        var random = new Random(options.Seed);
        var total = Stopwatch.StartNew();
        var scheduled = new List<long>(reminders);
        var whileFallingDue = 0;
        var insideDelivery = 0;
        var countedNotDelivered = new Dictionary<long, long>(); // id -> attempt_count, after the previous kill
        try
        {
            var perLife = reminders / kills;
            for (var k = 0; k < kills; k++)
            {
                var deliveredBefore = DeliveredCount(dataDir);
                await using var host = await HostProcess.StartAsync(dataDir, [Agent], extraArgs: args);
                var windowStart = DateTimeOffset.UtcNow.AddMilliseconds(LeadMs);
                var count = k == kills - 1 ? reminders - scheduled.Count : perLife;
                await using (var alice = await host.ConnectLinesAsync(Agent))
                {
                    for (var i = 0; i < count; i++)
                    {
                        var due = UtcTimestamp.Format(options.Burst ? windowStart : windowStart.AddMilliseconds(i * WindowMs / count));
                        var reply = await alice.CallAsync(Line(new { op = "remind", body = $"r{scheduled.Count}", due_at = due }));
                        if (!Reply.IsOk(reply.Span)) throw new InvalidOperationException("remind failed: " + Reply.Text(reply.Span));
                        scheduled.Add(Reply.Id(reply.Span));
                    }
                }
                var late = DateTimeOffset.UtcNow > windowStart;

                // Pull the plug at a random moment of the window in which this life's reminders fall due (or are delivered).
                var span = options.Burst ? TickMs + BurstMsPerReminder * count : WindowMs;
                var killAt = windowStart + TimeSpan.FromMilliseconds(random.NextDouble() * span);
                var wait = killAt - DateTimeOffset.UtcNow;
                if (wait > TimeSpan.Zero) await Task.Delay(wait);
                var pendingBefore = Scalar(dataDir, "SELECT count(*) FROM reminders");
                await host.KillAsync();

                var counted = CountedNotDelivered(dataDir);
                var caught = counted.Count(c => !countedNotDelivered.TryGetValue(c.Key, out var was) || c.Value > was);
                countedNotDelivered = counted;
                if (pendingBefore > 0) whileFallingDue++;
                if (caught > 0) insideDelivery++;
                var pendingAfter = Scalar(dataDir, "SELECT count(*) FROM reminders");
                Console.WriteLine($"life {k + 1,3}/{kills}: scheduled {count,4}{(late ? " (LATE: window opened while scheduling)" : "")}   " +
                                  $"killed at +{Stats.F((killAt - windowStart).TotalMilliseconds, 0),3} ms   delivered this life {DeliveredCount(dataDir) - deliveredBefore,4}   " +
                                  $"left after kill {pendingAfter,4}{(caught > 0 ? $"   KILLED INSIDE A DELIVERY ({caught} counted, not delivered)" : "")}");
            }

            // The last life: nothing kills it; it must deliver everything left, then stop gracefully.
            var final = Stopwatch.StartNew();
            await using (var host = await HostProcess.StartAsync(dataDir, [Agent], extraArgs: args))
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (Scalar(dataDir, "SELECT count(*) FROM reminders") > 0)
                {
                    if (DateTime.UtcNow > deadline) throw new TimeoutException($"reminders left after 60 s:\n{host.Output}");
                    await Task.Delay(20);
                }
                await host.TerminateAsync(TimeSpan.FromSeconds(20));
            }
            Console.WriteLine($"final life: the rest delivered and SIGTERM done in {Stats.F(final.Elapsed.TotalSeconds, 2)} s");

            var delivered = Ids(dataDir);
            var distinct = delivered.ToHashSet();
            var duplicates = delivered.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            var missing = scheduled.Where(id => !distinct.Contains(id)).ToList();
            var scheduledSet = scheduled.ToHashSet();
            var unknown = distinct.Where(id => !scheduledSet.Contains(id)).ToList();
            var remaining = Scalar(dataDir, "SELECT count(*) FROM reminders");
            var integrity = Integrity(dataDir);
            var ok = distinct.Count == reminders && duplicates.Count == 0 && missing.Count == 0 && unknown.Count == 0 && remaining == 0 && integrity == "ok";

            Console.WriteLine();
            Console.WriteLine($"== Summary (synchronous={options.Synchronous}, seed {options.Seed}) ==");
            Console.WriteLine($"kills                          {kills}");
            Console.WriteLine($"  while reminders were pending {whileFallingDue}   (the crash test's 'mid-delivery': the table was not empty at the kill)");
            Console.WriteLine($"  inside a delivery            {insideDelivery}   (an attempt was counted and its message not yet committed)");
            Console.WriteLine($"reminders scheduled            {Stats.N(scheduled.Count)}");
            Console.WriteLine($"messages kind=reminder         {Stats.N(delivered.Count)}   distinct reminder_id {Stats.N(distinct.Count)} (expected {Stats.N(reminders)})");
            Console.WriteLine($"duplicates                     {duplicates.Count}{(duplicates.Count > 0 ? "   ids: " + string.Join(' ', duplicates.Take(20)) : "")}");
            Console.WriteLine($"lost (scheduled, undelivered)  {missing.Count}{(missing.Count > 0 ? "   ids: " + string.Join(' ', missing.Take(20)) : "")}");
            Console.WriteLine($"reminders table left           {remaining}");
            Console.WriteLine($"PRAGMA integrity_check         {integrity}");
            Console.WriteLine($"verdict                        {(ok ? "every reminder delivered exactly once, database intact" : "FAILED")}");
            Console.WriteLine($"load average at end: {LoadAverage()}   total run time {Stats.F(total.Elapsed.TotalSeconds, 1)} s");
            return ok ? 0 : 1;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            RemoveOrKeep(root, options.Keep);
        }
    }

    private static byte[] Line(object request) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request) + "\n");

    private static SqliteConnection Open(string dataDir) => HiveDatabase.Open(dataDir, SqliteOpenMode.ReadWrite);

    private static long Scalar(string dataDir, string sql) => HiveDatabase.Scalar(dataDir, sql, SqliteOpenMode.ReadWrite);

    private static long DeliveredCount(string dataDir) =>
        File.Exists(Path.Combine(dataDir, "hive.db")) ? Scalar(dataDir, "SELECT count(*) FROM messages WHERE kind = 'reminder'") : 0;

    private static Dictionary<long, long> CountedNotDelivered(string dataDir)
    {
        using var connection = Open(dataDir);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, attempt_count FROM reminders WHERE attempt_count > 0";
        using var reader = command.ExecuteReader();
        var counted = new Dictionary<long, long>();
        while (reader.Read()) counted[reader.GetInt64(0)] = reader.GetInt64(1);
        return counted;
    }

    private static List<long> Ids(string dataDir)
    {
        using var connection = Open(dataDir);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT json_extract(meta, '$.reminder_id') FROM messages WHERE kind = 'reminder'";
        using var reader = command.ExecuteReader();
        var ids = new List<long>();
        while (reader.Read()) ids.Add(reader.IsDBNull(0) ? -1 : reader.GetInt64(0));
        return ids;
    }

    private static string Integrity(string dataDir)
    {
        using var connection = Open(dataDir);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read()) lines.Add(reader.GetString(0));
        return string.Join("; ", lines);
    }
}
