using Hive.Tests.Host;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

/// <summary>
/// A write that meets another writer's lock on the database (a backup tool, a second process, the hive's own writers)
/// waits for it in the hive's busy handler and goes through when the lock is let go; <c>/metrics</c> counts the wait.
/// </summary>
public sealed class BusyWaitTests
{
    [Fact]
    public async Task A_send_that_meets_another_writers_lock_waits_for_it_and_the_wait_is_counted()
    {
        var port = HostProcess.FreePort();
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Metrics:Urls", $"http://127.0.0.1:{port}");
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        await using var alice = await hive.ConnectAsync("alice");
        await using var bob = await hive.ConnectAsync("bob");
        await alice.SendAsync("bob", "before the lock");
        var before = await WaitsAsync(metrics);

        using var other = new SqliteConnection($"Data Source={hive.DatabasePath};Pooling=False");
        other.Open();
        long id;
        using (var transaction = other.BeginTransaction(deferred: false)) // BEGIN IMMEDIATE: the write lock is the other's
        {
            var send = alice.SendAsync("bob", "behind the lock");
            await HiveInstance.UntilAsync(async () => await WaitsAsync(metrics) > before, SseStream.Patience, "a wait at the lock in /metrics");
            Assert.False(send.IsCompleted); // nothing is acknowledged that is not committed
            transaction.Commit();
            id = await send;
        }

        var received = new List<string>();
        while (received.Count < 2 && await bob.RecvAndAckMessageAsync() is { } message) received.Add(message.Body);
        Assert.Equal(["before the lock", "behind the lock"], received);
        Assert.Equal(1, hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @id AND body = 'behind the lock'", new { id }));
    }

    private static async Task<double> WaitsAsync(HttpClient metrics) =>
        MetricsTests.Value(await metrics.GetStringAsync("/metrics"), "hive_db_busy_waits_total", "") ?? throw new InvalidOperationException("no hive_db_busy_waits_total in /metrics");
}
