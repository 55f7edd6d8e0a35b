using Dapper;
using Hive.Shared;
using Hive.Shared.Data;
using Hive.Tests.Host;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

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
    public async Task Sends_that_hardly_pause_still_let_the_log_start_again()
    {
        var port = HostProcess.FreePort();
        string[] senders = [.. Enumerable.Range(0, 16).Select(i => $"a{i}")];
        await using var hive = await HiveInstance.StartAsync([.. senders, "bob"],
            "--Hive:Metrics:Urls", $"http://127.0.0.1:{port}", "--Hive:Messages:BytesPerHour", "1099511627776");
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        var clients = await Task.WhenAll(senders.Select(hive.ConnectAsync));
        var body = new string('x', 1000);

        // Sixteen senders that each send again as soon as their last send is acknowledged: the message writer's group
        // commits follow each other with hardly a pause in which a PASSIVE checkpoint alone would let the log start again.
        const int each = 3_750;
        await Task.WhenAll(clients.Select(async client =>
        {
            for (var i = 0; i < each; i++) await client.SendAsync("bob", body);
            await client.DisposeAsync();
        }));

        // The file keeps the longest the log has been. Restarted past 4,000 frames, it stays under twice that (5,300–5,400
        // frames here on a quiet machine); without the RESTART it reached 8,400–8,900 by these 60,000 sends, and grows for
        // as long as they go on. On a busy machine the writers pause often enough for the log to start again by itself.
        const long frameBytes = 4096 + 24;
        var longest = hive.WalBytes;
        Assert.True(longest < 2 * WalCheckpoints.RestartAt * frameBytes,
            $"the log grew to {longest / frameBytes} frames under sends that hardly paused " +
            $"({await MetricAsync(metrics, "hive_db_log_restarts_total")} restarts)");
        Assert.Equal(senders.Length * each, hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'bob'"));
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

    [Fact]
    public async Task A_reader_that_holds_the_log_is_not_waited_for_on_every_pass()
    {
        var path = Path.Combine(_dir, "pinned.db");
        var db = _alone = new SqliteDb(path, "NORMAL");
        db.EnableWriteAheadLog();
        using (var setup = db.Open()) setup.Execute("CREATE TABLE pages (id INTEGER PRIMARY KEY, page BLOB NOT NULL)");
        var clock = new FakeTimeProvider();
        using var checkpointer = new WalCheckpointer(db, new HivePaths(_dir), clock, NullLogger<WalCheckpointer>.Instance);
        try
        {
            // A reader (a backup, say) holds a snapshot from before the inserts: no restart can end while it reads, and
            // each attempt holds the writers for the restart's patience, so passes back to back must not each attempt one.
            using var reader = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            reader.Open();
            reader.Execute("BEGIN DEFERRED");
            reader.QuerySingle<long>("SELECT count(*) FROM pages");
            var page = new byte[4096];
            for (var i = 0; i < WalCheckpoints.RestartAt; i++)
                using (var connection = db.Open()) connection.Execute("INSERT INTO pages (page) VALUES (@page)", new { page });

            // Started only now, the checkpointer makes one pass for the inserts' wakes, then one for each Wake below:
            // nothing else writes, so nothing else wakes it.
            await checkpointer.StartAsync(CancellationToken.None);
            await HiveInstance.Until(() => checkpointer.CompletedPasses == 1, what: "the pass the inserts asked for");
            Assert.Equal((0, 1), (checkpointer.Restarts, checkpointer.RestartsRefused));
            await PassAsync(checkpointer);
            Assert.Equal((0, 1), (checkpointer.Restarts, checkpointer.RestartsRefused));

            // The next attempt 50 ms after the refusal, the one after that 100 ms after the next, while the reader holds on.
            clock.Advance(TimeSpan.FromMilliseconds(50));
            await PassAsync(checkpointer);
            Assert.Equal((0, 2), (checkpointer.Restarts, checkpointer.RestartsRefused));
            clock.Advance(TimeSpan.FromMilliseconds(50));
            await PassAsync(checkpointer);
            Assert.Equal((0, 2), (checkpointer.Restarts, checkpointer.RestartsRefused));

            reader.Execute("COMMIT TRANSACTION");
            clock.Advance(TimeSpan.FromMilliseconds(50));
            await PassAsync(checkpointer);
            Assert.Equal((1, 2), (checkpointer.Restarts, checkpointer.RestartsRefused));
        }
        finally
        {
            await checkpointer.StopAsync(CancellationToken.None);
        }
    }

    private static async Task PassAsync(WalCheckpointer checkpointer)
    {
        var before = checkpointer.CompletedPasses;
        checkpointer.Wake();
        await HiveInstance.Until(() => checkpointer.CompletedPasses > before, what: "a checkpoint pass");
    }

    private static Task<double> CheckpointsAsync(HttpClient metrics) => MetricAsync(metrics, "hive_db_checkpoints_total");

    private static async Task<double> MetricAsync(HttpClient metrics, string name) =>
        MetricsTests.Value(await metrics.GetStringAsync("/metrics"), name, "")
        ?? throw new InvalidOperationException($"no {name} in /metrics");
}
