using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hive.Bench.Infrastructure;
using Hive.Contracts.Json;
using Hive.Features.Reminders;
using Hive.Testing;
using MediatR;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The reminders benchmark: M reminders (default 10 000) falling due at once are all delivered by the scheduler.
/// Per round, in a fresh data dir: a hive with a one-hour tick (so only its start-up tick runs) takes M reminders
/// through the agents' <c>remind</c> verb, all due a minute ago; it stops; a new hive starts on the same data dir and
/// its start-up tick delivers them. A probe (a MediatR behavior on <c>DeliverDueReminders</c>, innermost) stamps the
/// tick's start and end; a poller on its own connection sees the <c>reminders</c> table empty. The raw floor (one
/// row per transaction, <see cref="RawSqlite"/>) is measured in the same round. Goal: all 10 000 within 2 s.
/// </summary>
internal sealed class RemindersBench : IBenchMode
{
    public string Name => "reminders";
    public string Summary => "10 000 reminders due at once: time to deliver all (goal < 2 s), ratio to raw SQLite inserts";

    private const int DefaultReminders = 10_000;
    private const double GoalSeconds = 2;
    private const string Agent = "alice";
    private const int SchedulingClients = 4;
    private const string Body = "wake up: check the build of the meta repo and report to the manager (see state/plan.md)";

    private sealed record RoundResult(
        int Reminders, double ScheduleSeconds, double StartToTickMs, double TickSeconds, double FirstDeliveryMs,
        double StartToEmptySeconds, int TickDelivered, int TickFailed, double RawRowsPerSecond, Verification Check)
    {
        public double DeliveryRate => Reminders / TickSeconds;
        public double Ratio => DeliveryRate / RawRowsPerSecond;
    }

    private sealed record Verification(long Messages, long DistinctIds, long Duplicates, long Remaining, long MissingIds)
    {
        public bool Ok(int reminders) => Messages == reminders && DistinctIds == reminders && Duplicates == 0 && Remaining == 0 && MissingIds == 0;
        public override string ToString() =>
            $"messages kind=reminder {Stats.N(Messages)}, distinct reminder_id {Stats.N(DistinctIds)}, duplicates {Duplicates}, " +
            $"scheduled ids not delivered {MissingIds}, reminders left {Remaining}";
    }

    public async Task<int> RunAsync(BenchOptions options)
    {
        var reminders = options.Reminders ?? DefaultReminders;
        var root = TempRoot("reminders");
        PrintHeader("Hive reminders benchmark", root);
        Console.WriteLine($"synchronous: {options.Synchronous} (raw and hive)   reminders due at once: {Stats.N(reminders)} (one agent)   " +
                          $"rounds: {options.Rounds}   raw case: {Stats.F(options.Seconds, 1)} s");

        var total = Stopwatch.StartNew();
        var results = new List<RoundResult>();
        var allOk = true;
        try
        {
            using (var warm = new RawSqlite(Path.Combine(root, "raw-warm.db"), options.Synchronous)) warm.Run(TimeSpan.FromSeconds(0.5), "tx", "rx", Body);
            var (template, ids, scheduleSeconds) = await ScheduleOnceAsync(options, reminders, Path.Combine(root, "schedule"));
            Console.WriteLine($"scheduled {Stats.N(reminders)} reminders through the remind verb in {Stats.F(scheduleSeconds, 2)} s; every round starts from a copy");
            for (var r = 0; r < options.Rounds; r++)
            {
                var result = await RoundAsync(options, reminders, template, ids, scheduleSeconds, Path.Combine(root, $"round{r + 1}"));
                results.Add(result);
                allOk &= result.Check.Ok(reminders);
                Console.WriteLine($"round {r + 1}/{options.Rounds}: delivered {Stats.N(reminders)} in {Stats.F(result.TickSeconds, 3)} s " +
                                  $"({Stats.N(result.DeliveryRate)}/s)   raw {Stats.N(result.RawRowsPerSecond)} rows/s   " +
                                  $"ratio {Stats.F(result.Ratio, 3)}   start->empty {Stats.F(result.StartToEmptySeconds, 3)} s   " +
                                  $"{(result.Check.Ok(reminders) ? "verified" : "FAILED: " + result.Check)}");
            }

            var tick = Stats.Median(results.Select(x => x.TickSeconds));
            var worst = results.Max(x => x.TickSeconds);
            var rate = Stats.Median(results.Select(x => x.DeliveryRate));
            var raw = Stats.Median(results.Select(x => x.RawRowsPerSecond));
            var last = results[^1];
            Console.WriteLine();
            Console.WriteLine($"== Summary (synchronous={options.Synchronous}, {Environment.ProcessorCount} cores; medians of {results.Count} rounds) ==");
            Console.WriteLine($"delivery  first tick that sees them -> all {Stats.N(reminders)} delivered: {Stats.F(tick, 3)} s (worst round {Stats.F(worst, 3)} s)   " +
                              $"goal < {GoalSeconds} s: {Verdict(worst, GoalSeconds)}");
            Console.WriteLine($"          per round: {string.Join(", ", results.Select(x => Stats.F(x.TickSeconds, 3) + " s"))}");
            Console.WriteLine($"rate      {Stats.N(rate)} reminders/s   ({Stats.F(1e6 / rate, 1)} us per reminder)");
            Console.WriteLine($"raw       {Stats.N(raw)} rows/s, 1 row per tx   ({Stats.F(1e6 / raw, 1)} us per tx)");
            Console.WriteLine($"ratio     delivery rate / raw insert rate = {Stats.F(rate / raw, 3)}   (per round: {string.Join(", ", results.Select(x => Stats.F(x.Ratio, 3)))})");
            Console.WriteLine($"start     host start -> tick start: {Stats.F(Stats.Median(results.Select(x => x.StartToTickMs)), 1)} ms   " +
                              $"tick start -> first delivery: {Stats.F(Stats.Median(results.Select(x => x.FirstDeliveryMs)), 2)} ms   " +
                              $"host start -> table seen empty: {Stats.F(Stats.Median(results.Select(x => x.StartToEmptySeconds)), 3)} s");
            Console.WriteLine($"schedule  {Stats.N(reminders)} remind verbs over {SchedulingClients} connections, once: {Stats.F(scheduleSeconds, 2)} s " +
                              $"({Stats.N(reminders / scheduleSeconds)}/s)");
            Console.WriteLine($"check     {(allOk ? "every round: " : "FAILED: ")}{last.Check}   tick result delivered {Stats.N(last.TickDelivered)}, failed {last.TickFailed}");
            Console.WriteLine($"load average at end: {LoadAverage()}   total run time {Stats.F(total.Elapsed.TotalSeconds, 1)} s");
            return allOk ? 0 : 1;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>
    /// Schedules the reminders once, through the agents' <c>remind</c> verb on a hive whose only tick (at start-up)
    /// has already run, stops it, checkpoints, and keeps a copy of <c>hive.db</c>: every round starts from that copy,
    /// so the rows are exactly what the host writes and the scheduling cost is paid once per run.
    /// </summary>
    private static async Task<(string Template, List<long> Ids, double Seconds)> ScheduleOnceAsync(BenchOptions options, int reminders, string dir)
    {
        var dataDir = Path.Combine(dir, "hive");
        double seconds;
        List<long> ids;
        await using (var hive = await HiveInstance.StartOnAsync(dataDir, [Agent], [.. TickArgs, "--Hive:Database:Synchronous", options.Synchronous]))
        {
            var scheduler = hive.Services.GetRequiredService<ReminderScheduler>();
            while (scheduler.CompletedTicks < 1) await Task.Delay(5);
            var started = Stopwatch.GetTimestamp();
            ids = await ScheduleAsync(hive, reminders);
            seconds = Stats.Seconds(Stopwatch.GetTimestamp() - started);
            if (scheduler.CompletedTicks != 1) throw new InvalidOperationException("a second tick ran while scheduling");
        }
        var due = Count(dataDir, "SELECT count(*) FROM reminders WHERE due_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
        if (due != reminders) throw new InvalidOperationException($"{due} reminders due, expected {reminders}");
        using (var connection = Open(dataDir))
        using (var checkpoint = connection.CreateCommand())
        {
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            using var reader = checkpoint.ExecuteReader();
            while (reader.Read()) { }
        }
        var template = Path.Combine(dir, "scheduled.db");
        File.Copy(Path.Combine(dataDir, "hive.db"), template);
        return (template, ids, seconds);
    }

    private static readonly string[] TickArgs = ["--Hive:Reminders:TickSeconds", "3600"];

    private static async Task<RoundResult> RoundAsync(
        BenchOptions options, int reminders, string template, List<long> ids, double scheduleSeconds, string dir)
    {
        var dataDir = Path.Combine(dir, "hive");
        Directory.CreateDirectory(dataDir);
        File.Copy(template, Path.Combine(dataDir, "hive.db"));

        // A hive starts on a data dir holding M overdue reminders: its start-up tick is the first to see them.
        await Disk.SettleAsync();
        var probe = new TickProbe();
        var start = Stopwatch.GetTimestamp();
        long emptyAt;
        await using (var hive = await HiveInstance.StartOnAsync(dataDir, [Agent], [.. TickArgs, "--Hive:Database:Synchronous", options.Synchronous], services =>
               {
                   services.AddSingleton<IPipelineBehavior<DeliverDueReminders.Command, DeliverDueReminders.Result>>(probe);
                   services.AddSingleton<INotificationHandler<ReminderDelivered>>(probe);
               }))
        {
            emptyAt = await PollUntilEmptyAsync(dataDir, TimeSpan.FromSeconds(120));
            await probe.FirstTickDone.WaitAsync(TimeSpan.FromSeconds(120));
        }
        var check = Verify(dataDir, ids);

        // The floor, in the same round, on the same disk.
        await Disk.SettleAsync();
        double raw;
        using (var baseline = new RawSqlite(Path.Combine(dir, "raw", "raw.db"), options.Synchronous))
        {
            var (rows, elapsed) = baseline.Run(TimeSpan.FromSeconds(options.Seconds), "tx", Agent, Body);
            raw = rows / Stats.Seconds(elapsed);
        }
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }

        var tick = probe.Ticks[0];
        return new RoundResult(reminders, scheduleSeconds,
            Stats.Ms(tick.Start - start), Stats.Seconds(tick.End - tick.Start),
            probe.FirstDelivery == 0 ? double.NaN : Stats.Ms(probe.FirstDelivery - tick.Start),
            Stats.Seconds(emptyAt - start), tick.Delivered, tick.Failed, raw, check);
    }

    private static async Task<List<long>> ScheduleAsync(HiveInstance hive, int reminders)
    {
        var due = UtcTimestamp.Format(DateTimeOffset.UtcNow.AddMinutes(-1));
        var next = -1;
        var perClient = Enumerable.Range(0, SchedulingClients).Select(_ => Task.Run(async () =>
        {
            var ids = new List<long>();
            await using var client = await hive.ConnectLinesAsync(Agent);
            int n;
            while ((n = Interlocked.Increment(ref next)) < reminders)
            {
                var request = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { op = "remind", body = $"{Body} #{n}", due_at = due }) + "\n");
                var reply = await client.CallAsync(request);
                if (!Reply.IsOk(reply.Span)) throw new InvalidOperationException("remind failed: " + Reply.Text(reply.Span));
                ids.Add(Reply.Id(reply.Span));
            }
            return ids;
        })).ToList();
        return (await Task.WhenAll(perClient)).SelectMany(x => x).ToList();
    }

    /// <summary>Polls <c>count(*)</c> on its own connection every 2 ms; returns the timestamp it first saw zero.</summary>
    private static async Task<long> PollUntilEmptyAsync(string dataDir, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        using var connection = Open(dataDir);
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM reminders";
        while (true)
        {
            if ((long)count.ExecuteScalar()! == 0) return Stopwatch.GetTimestamp();
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException("the reminders were not all delivered");
            await Task.Delay(2);
        }
    }

    private static Verification Verify(string dataDir, List<long> scheduled)
    {
        using var connection = Open(dataDir);
        var delivered = new List<long>();
        using (var query = connection.CreateCommand())
        {
            query.CommandText = "SELECT json_extract(meta, '$.reminder_id') FROM messages WHERE kind = 'reminder'";
            using var reader = query.ExecuteReader();
            while (reader.Read()) delivered.Add(reader.IsDBNull(0) ? -1 : reader.GetInt64(0));
        }
        var distinct = delivered.ToHashSet();
        return new Verification(delivered.Count, distinct.Count, delivered.Count - distinct.Count,
            Count(dataDir, "SELECT count(*) FROM reminders"), scheduled.Count(id => !distinct.Contains(id)));
    }

    private static SqliteConnection Open(string dataDir)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDir, "hive.db"),
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    private static long Count(string dataDir, string sql)
    {
        using var connection = Open(dataDir);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// Registered last, so it is the innermost behavior: it stamps the tick itself, not the host's start-up. Also a
    /// handler of <c>reminder_delivered</c>, for the first delivery's moment.
    /// </summary>
    private sealed class TickProbe
        : IPipelineBehavior<DeliverDueReminders.Command, DeliverDueReminders.Result>, INotificationHandler<ReminderDelivered>
    {
        private readonly TaskCompletionSource _firstTickDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _firstDelivery;

        public sealed record Tick(long Start, long End, int Delivered, int Failed);

        public List<Tick> Ticks { get; } = [];
        public Task FirstTickDone => _firstTickDone.Task;
        public long FirstDelivery => Interlocked.Read(ref _firstDelivery);

        public async Task<DeliverDueReminders.Result> Handle(
            DeliverDueReminders.Command request, CancellationToken cancellationToken, RequestHandlerDelegate<DeliverDueReminders.Result> next)
        {
            var start = Stopwatch.GetTimestamp();
            var result = await next();
            var end = Stopwatch.GetTimestamp();
            lock (Ticks) Ticks.Add(new Tick(start, end, result.Delivered, result.Failed));
            _firstTickDone.TrySetResult();
            return result;
        }

        public Task Handle(ReminderDelivered notification, CancellationToken cancellationToken)
        {
            if (Interlocked.Read(ref _firstDelivery) == 0) Interlocked.CompareExchange(ref _firstDelivery, Stopwatch.GetTimestamp(), 0);
            return Task.CompletedTask;
        }
    }
}
