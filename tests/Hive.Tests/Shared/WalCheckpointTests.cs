using Dapper;
using Hive.Shared.Data;
using Hive.Tests.Host;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

/// <summary>
/// The write-ahead log is checkpointed off the writers' path (ADR 0030): a commit that lets it grow past 1,000 frames
/// wakes the hive's checkpointer, which copies it back while sends go on; past 4,000 frames it also lets the log start
/// again under writes that never pause (RESTART); with no checkpointer running, a commit far past that checkpoints itself,
/// so the log stays bounded all the same.
/// </summary>
public sealed class WalCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-walcheckpoint-").FullName;
    private SqliteDb? _alone;

    public void Dispose()
    {
        if (_alone is not null)
            using (var connection = _alone.Open()) SqliteConnection.ClearPool(connection); // the pool is keyed by the whole connection string
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Sends_past_a_thousand_log_frames_are_checkpointed_in_the_background()
    {
        var port = HostProcess.FreePort();
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"],
            "--Hive:Metrics:Urls", $"http://127.0.0.1:{port}", "--Hive:Messages:BytesPerHour", "1099511627776");
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        await using var alice = await hive.ConnectAsync("alice");
        var body = new string('x', 1000);

        var sends = 0;
        while (await CheckpointsAsync(metrics) < 1)
        {
            for (var i = 0; i < 50; i++, sends++) await alice.SendAsync("bob", body);
            Assert.True(sends < 20_000, $"no background checkpoint after {sends} sends; the log is {hive.WalBytes} bytes");
        }
        Assert.Equal(sends, hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'alice'"));
    }

    [Fact]
    public async Task Sends_that_never_pause_still_let_the_log_start_again()
    {
        var port = HostProcess.FreePort();
        string[] senders = [.. Enumerable.Range(0, 16).Select(i => $"a{i}")];
        await using var hive = await HiveInstance.StartAsync([.. senders, "bob"],
            "--Hive:Metrics:Urls", $"http://127.0.0.1:{port}", "--Hive:Messages:BytesPerHour", "1099511627776");
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        var clients = await Task.WhenAll(senders.Select(hive.ConnectAsync));
        var body = new string('x', 1000);

        // Sixteen senders that each send again as soon as their last send is acknowledged: the message writer's group
        // commits follow each other with no pause in which a PASSIVE checkpoint alone would let the log start again.
        using var stop = new CancellationTokenSource();
        var sent = 0L;
        var longest = 0L;
        var sending = clients.Select(async client =>
        {
            while (!stop.IsCancellationRequested)
            {
                await client.SendAsync("bob", body);
                Interlocked.Increment(ref sent);
            }
        }).ToArray();
        try
        {
            while (await MetricAsync(metrics, "hive_db_log_restarts_total") < 2)
            {
                if (sending.FirstOrDefault(s => s.IsFaulted) is { } failed) await failed;
                longest = Math.Max(longest, hive.WalBytes);
                Assert.True(Interlocked.Read(ref sent) < 200_000,
                    $"the log was not started again twice in {sent} sends; it is {hive.WalBytes} bytes");
                await Task.Delay(20); // how often the figures are read, not a wait for them
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(sending);
            foreach (var client in clients) await client.DisposeAsync();
        }

        // Restarted past 4,000 frames, the log stays under half the bound a commit would checkpoint itself at (5,300–5,400
        // frames here; without the RESTART 8,400–8,900 by 60,000 sends, and growing as long as the sends go on).
        const long frameBytes = 4096 + 24;
        longest = Math.Max(longest, hive.WalBytes);
        Assert.True(longest < WalCheckpoints.InlineAt / 2 * frameBytes,
            $"the log grew to {longest / frameBytes} frames under sends that never paused, restarts counted all the same");
        Assert.Equal(sent, hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'bob'"));
    }

    [Fact]
    public void With_no_checkpointer_a_commit_far_past_the_line_checkpoints_itself()
    {
        var path = Path.Combine(_dir, "alone.db");
        var db = _alone = new SqliteDb(path, "NORMAL");
        db.EnableWriteAheadLog();
        using (var setup = db.Open()) setup.Execute("CREATE TABLE pages (id INTEGER PRIMARY KEY, page BLOB NOT NULL)");

        // Each insert of a page-sized blob writes two or three frames: in all about twice the inline line. The longest the
        // log got is read as it grows (another test's hive closing every pool would let SQLite remove it meanwhile).
        const long frameBytes = 4096 + 24;
        var page = new byte[4096];
        var longest = 0L;
        var log = new FileInfo(path + "-wal");
        for (var i = 0; i < WalCheckpoints.InlineAt; i++)
        {
            using (var connection = db.Open()) connection.Execute("INSERT INTO pages (page) VALUES (@page)", new { page });
            log.Refresh();
            if (log.Exists) longest = Math.Max(longest, log.Length);
        }

        Assert.True(longest > 2 * WalCheckpoints.BackgroundAt * frameBytes,
            $"the log never grew past {longest / frameBytes} frames: SQLite's own checkpoint at 1,000 is still in place");
        Assert.True(longest < (WalCheckpoints.InlineAt + WalCheckpoints.BackgroundAt) * frameBytes,
            $"the log grew to {longest} bytes ({longest / frameBytes} frames) with nothing checkpointing in the background: it is not bounded");
        using var check = db.Open();
        Assert.Equal(WalCheckpoints.InlineAt, check.QuerySingle<long>("SELECT count(*) FROM pages"));
    }

    private static Task<double> CheckpointsAsync(HttpClient metrics) => MetricAsync(metrics, "hive_db_checkpoints_total");

    private static async Task<double> MetricAsync(HttpClient metrics, string name) =>
        MetricsTests.Value(await metrics.GetStringAsync("/metrics"), name, "")
        ?? throw new InvalidOperationException($"no {name} in /metrics");
}
