using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;

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

        var batch = (await bob.RecvManyAsync(8)).Messages;
        Assert.Equal(ids, batch.Select(m => m.Id));
        foreach (var id in new[] { ids[0], ids[2] }) await bob.AckAsync(id);

        // The two left unacknowledged come back after the ack timeout, flagged, oldest first; the acknowledged never do.
        var again = AgentClient.Ok(await bob.CallAsync(new { op = "recv", max = 8, wait_ms = 10_000 })).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal([ids[1], ids[3]], again.Select(m => m.Deserialize<MessageView>(HiveJson.Options)!.Id));
        Assert.All(again, m => Assert.True(m.GetProperty("redelivered").GetBoolean())); // the wire's flag, raw: the record computes it
        Assert.Equal(2, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'bob' AND delivered_at IS NOT NULL"));

        // A parked batch recv wakes on the first message and returns what is there.
        var parked = bob.CallAsync(new { op = "recv", max = 8, wait_ms = 10_000 });
        var late = await alice.SendAsync("bob", "late");
        var woke = AgentClient.Ok(await parked).Deserialize<RecvManyReply>(HiveJson.Options)!.Messages.Select(m => m.Id).ToList();
        Assert.Contains(late, woke);
    }

    [Fact]
    public async Task Requesting_the_next_turn_wakes_the_agent_with_a_message_from_itself_once()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var harness = await _hive.ConnectAsync("alice"); // the harness parks a recv on the agent's behalf
        await using var events = await _hive.OpenEventsAsync();
        var parked = harness.CallAsync(new { op = "recv", wait_ms = 10_000 });

        var first = await alice.CallAsync(MessageVerbs.RequestNextTurn, new NoArgs());
        var again = await alice.CallAsync(MessageVerbs.RequestNextTurn, new NoArgs());

        var message = AgentClient.Ok(await parked).Deserialize<RecvOneReply>(HiveJson.Options)!.Message!;
        Assert.Equal(first.Id, message.Id);
        Assert.Equal("next_turn", message.Kind);
        Assert.Equal("continue", message.Body);
        Assert.Equal("alice", message.From);
        Assert.Equal("alice", message.To);
        Assert.True(first.Queued);
        Assert.False(again.Queued); // one waits at a time
        Assert.Equal(first.Id, again.Id);
        await events.WaitForPayloadAsync<MessageView>("sent", e => e.Id == first.Id);

        await harness.AckAsync(first.Id);
        var next = await alice.CallAsync(MessageVerbs.RequestNextTurn, new NoArgs());
        Assert.True(next.Queued); // the last one was taken: a new one
        Assert.NotEqual(first.Id, next.Id);
    }
}
