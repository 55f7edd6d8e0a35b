using Hive.Features.Messages;

namespace Hive.Tests.Features.Messages;

/// <summary>
/// The retention sweep removes delivered messages older than <c>Hive:Messages:RetainDays</c>, and only
/// those: queued, in-flight, undeliverable and recent ones stay, and another feature's table is untouched. A hive of its
/// own with a fast sweep; the old rows are written straight into its database (as weeks of traffic would have left them).
/// </summary>
public sealed class MessageRetentionTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"],
        "--Hive:Messages:RetainDays", "30", "--Hive:Messages:RetentionSweepMinutes", "0.01");

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    [Fact]
    public async Task Only_delivered_messages_older_than_the_retention_are_removed()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", to = "bob", question = "kept?" }));
        var ids = new Dictionary<string, long>();
        foreach (var name in new[] { "old-delivered", "old-delivered-2", "old-queued", "old-in-flight", "old-undeliverable", "recent-delivered", "young-delivered", "just-past", "just-inside" })
            ids[name] = await alice.SendAsync("bob", name);
        string Ago(double days) => DateTimeOffset.UtcNow.AddDays(-days).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        void Set(string name, string set, double daysAgo) =>
            Assert.Equal(1, _hive.QueryDb<long>($"UPDATE messages SET {set} WHERE id = @id; SELECT changes();",
                new { id = ids[name], at = Ago(daysAgo), until = Ago(-1) }));
        Set("old-delivered", "sent_at = @at, delivered_at = @at, delivery_count = 1", 45);
        Set("old-delivered-2", "sent_at = @at, delivered_at = @at, delivery_count = 1", 31);
        Set("old-queued", "sent_at = @at", 45);
        Set("old-in-flight", "sent_at = @at, delivery_count = 1, in_flight_until = @until", 45);
        Set("old-undeliverable", "sent_at = @at, undeliverable_at = @at, delivery_count = 5", 45);
        Set("recent-delivered", "sent_at = @at, delivered_at = @at, delivery_count = 1", 29);
        Set("young-delivered", "delivered_at = @at, delivery_count = 1", 0);
        // Within hours of the cutoff, written in the wire's text form: compared as text with the other form they went wrong.
        Set("just-past", "sent_at = @at, delivered_at = @at, delivery_count = 1", 30.1);
        Set("just-inside", "sent_at = @at, delivered_at = @at, delivery_count = 1", 29.9);
        var retention = _hive.Service<MessageRetention>();

        await HiveInstance.Until(() => retention.Deleted >= 3, TimeSpan.FromSeconds(30), "the sweep");

        var left = _hive.QueryDbList<long>("SELECT id FROM messages").ToHashSet();
        Assert.DoesNotContain(ids["old-delivered"], left);
        Assert.DoesNotContain(ids["old-delivered-2"], left);
        foreach (var kept in new[] { "old-queued", "old-in-flight", "old-undeliverable", "recent-delivered", "young-delivered", "just-inside" })
            Assert.True(left.Contains(ids[kept]), $"{kept} was removed");
        Assert.Equal(3, retention.Deleted);
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM questions")); // another feature's rows are its own
        Assert.Equal(30, (await _hive.GetJsonAsync("/api/state")).GetProperty("message_retention").GetProperty("days").GetDouble());
    }

    [Theory]
    [InlineData("RetainDays", "0")]
    [InlineData("RetainDays", "-1")]
    [InlineData("RetentionSweepMinutes", "0")]
    [InlineData("RetentionSweepMinutes", "1e9")]
    public async Task Bad_retention_settings_stop_the_start_up(string key, string value)
    {
        var refusal = await Assert.ThrowsAnyAsync<Exception>(() => HiveInstance.StartAsync(["alice"], $"--Hive:Messages:{key}", value));
        Assert.True(refusal.Message.Contains("Hive:Messages:RetainDays", StringComparison.Ordinal), refusal.ToString());
    }
}
