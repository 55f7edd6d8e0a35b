namespace Hive.Tests.Features.Messages;

/// <summary>
/// <c>recv max</c> hands out a batch, oldest first, each message acknowledged (or redelivered) on
/// its own; <c>request_next_turn</c> wakes the agent itself through its own inbox, one waiting at a time. A hive of its
/// own with a 1-second ack timeout.
/// </summary>
public sealed class NextTurnAndBatchTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Messages:AckTimeoutSeconds", "1");

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    [Fact]
    public async Task A_batch_is_acknowledged_message_by_message_and_what_is_not_comes_back()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var ids = new List<long>();
        for (var i = 0; i < 4; i++) ids.Add(await alice.SendAsync("bob", $"m{i}"));

        var batch = AgentClient.Ok(await bob.CallAsync(new { op = "recv", max = 8 })).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(ids, batch.Select(m => m.GetProperty("id").GetInt64()));
        foreach (var id in new[] { ids[0], ids[2] }) await bob.AckAsync(id);

        // The two left unacknowledged come back after the ack timeout, flagged, oldest first; the acknowledged never do.
        var again = AgentClient.Ok(await bob.CallAsync(new { op = "recv", max = 8, wait_ms = 10_000 })).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal([ids[1], ids[3]], again.Select(m => m.GetProperty("id").GetInt64()));
        Assert.All(again, m => Assert.True(m.GetProperty("redelivered").GetBoolean()));
        Assert.Equal(2, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'bob' AND delivered_at IS NOT NULL"));

        // A parked batch recv wakes on the first message and returns what is there.
        var parked = bob.CallAsync(new { op = "recv", max = 8, wait_ms = 10_000 });
        var late = await alice.SendAsync("bob", "late");
        var woke = AgentClient.Ok(await parked).GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("id").GetInt64()).ToList();
        Assert.Contains(late, woke);
    }

    [Fact]
    public async Task Requesting_the_next_turn_wakes_the_agent_with_a_message_from_itself_once()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var harness = await _hive.ConnectAsync("alice"); // the harness parks a recv on the agent's behalf
        await using var events = await _hive.OpenEventsAsync();
        var parked = harness.CallAsync(new { op = "recv", wait_ms = 10_000 });

        var first = AgentClient.Ok(await alice.CallAsync(new { op = "request_next_turn" }));
        var again = AgentClient.Ok(await alice.CallAsync(new { op = "request_next_turn" }));

        var message = AgentClient.Ok(await parked).GetProperty("message");
        Assert.Equal(first.GetProperty("id").GetInt64(), message.GetProperty("id").GetInt64());
        Assert.Equal("next_turn", message.GetProperty("kind").GetString());
        Assert.Equal("continue", message.GetProperty("body").GetString());
        Assert.Equal("alice", message.GetProperty("from").GetString());
        Assert.Equal("alice", message.GetProperty("to").GetString());
        Assert.True(first.GetProperty("queued").GetBoolean());
        Assert.False(again.GetProperty("queued").GetBoolean()); // one waits at a time
        Assert.Equal(first.GetProperty("id").GetInt64(), again.GetProperty("id").GetInt64());
        await events.WaitForAsync("sent", e => e.GetProperty("id").GetInt64() == first.GetProperty("id").GetInt64());

        await harness.AckAsync(first.GetProperty("id").GetInt64());
        var next = AgentClient.Ok(await alice.CallAsync(new { op = "request_next_turn" }));
        Assert.True(next.GetProperty("queued").GetBoolean()); // the last one was taken: a new one
        Assert.NotEqual(first.GetProperty("id").GetInt64(), next.GetProperty("id").GetInt64());
    }
}
