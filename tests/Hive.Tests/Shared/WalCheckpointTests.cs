using Dapper;
using Hive.Shared.Data;
using Hive.Tests.Host;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

/// <summary>
/// The write-ahead log is checkpointed off the writers' path (ADR 0030): a commit that lets it grow past 1,000 frames
/// wakes the hive's checkpointer, which copies it back while sends go on, and the log is then reused rather than grown;
/// with no checkpointer running, a commit far past that checkpoints itself, so the log stays bounded all the same.
/// </summary>
public sealed class WalCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-walcheckpoint-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearPool(new SqliteConnection($"Data Source={Path.Combine(_dir, "alone.db")}"));
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Sends_past_a_thousand_log_frames_are_checkpointed_in_the_background_and_the_log_is_reused()
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
        var logAtFirst = hive.WalBytes;

        // As many sends again: a log that was not reused would be about twice as long now.
        for (var i = 0; i < sends; i++) await alice.SendAsync("bob", body);
        await HiveInstance.UntilAsync(async () => await CheckpointsAsync(metrics) >= 2, SseStream.Patience, "a second background checkpoint");
        Assert.True(hive.WalBytes < logAtFirst * 3 / 2,
            $"the log grew from {logAtFirst} to {hive.WalBytes} bytes over {sends} more sends: it was not reused after the checkpoint");
        Assert.Equal(2L * sends, hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'alice'"));
    }

    [Fact]
    public void With_no_checkpointer_a_commit_far_past_the_line_checkpoints_itself()
    {
        var path = Path.Combine(_dir, "alone.db");
        var db = new SqliteDb(path, "NORMAL");
        db.EnableWriteAheadLog();
        using (var setup = db.Open()) setup.Execute("CREATE TABLE pages (id INTEGER PRIMARY KEY, page BLOB NOT NULL)");

        // Each insert of a page-sized blob writes two or three frames: in all about twice the inline line.
        var page = new byte[4096];
        for (var i = 0; i < WalCheckpoints.InlineAt; i++)
        {
            using var connection = db.Open();
            connection.Execute("INSERT INTO pages (page) VALUES (@page)", new { page });
        }

        const long frameBytes = 4096 + 24;
        var log = new FileInfo(path + "-wal").Length;
        Assert.True(log < (WalCheckpoints.InlineAt + WalCheckpoints.BackgroundAt) * frameBytes,
            $"the log is {log} bytes ({log / frameBytes} frames) with nothing checkpointing in the background: it is not bounded");
        using var check = db.Open();
        Assert.Equal(WalCheckpoints.InlineAt, check.QuerySingle<long>("SELECT count(*) FROM pages"));
    }

    private static async Task<double> CheckpointsAsync(HttpClient metrics) =>
        MetricsTests.Value(await metrics.GetStringAsync("/metrics"), "hive_db_checkpoints_total", "")
        ?? throw new InvalidOperationException("no hive_db_checkpoints_total in /metrics");
}
