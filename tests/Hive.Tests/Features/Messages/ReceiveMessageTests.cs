using System.Diagnostics;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;
using Hive.Features.Messages;

namespace Hive.Tests.Features.Messages;

/// <summary>ReceiveMessage: recv, waiting or not, as agents drive it over their sockets, and what the stream shows of it.</summary>
[Collection(MessagesHive.Name)]
public sealed class ReceiveMessageTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_parked_recv_is_woken_by_a_message_from_another_agent()
    {
        var (aliceName, bobName) = await TwoAgentsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        await using var bob = await _hive.ConnectAsync(bobName);
        // One message taken first, so bob parks on an empty inbox.
        await alice.SendAsync(bobName, "warm-up");
        Assert.NotNull(await bob.RecvAsync());

        var waiting = bob.RecvAsync(waitMs: 10_000);
        // Parked first: the test is that the arrival wakes it, not that it finds the message when it looks.
        var metrics = _hive.Service<MessagesMetrics>();
        await HiveInstance.Until(() => metrics.ParkedRecvs(bobName) == 1, what: "bob's recv to park");
        var id = await alice.SendAsync(bobName, "hello bob");
        var raw = await waiting;

        Assert.NotNull(raw);
        var message = raw.Value.Deserialize<MessageView>(HiveJson.Options)!;
        Assert.Equal(id, message.Id);
        Assert.Equal(aliceName, message.From);
        Assert.Equal(bobName, message.To);
        Assert.Equal("message", message.Kind);
        Assert.Equal("hello bob", message.Body);
        Assert.NotNull(message.FileRefs); // an array: null and absent read as null
        // Handed out, in flight: delivered only once bob acknowledges it (present and null, raw).
        Assert.Equal(JsonValueKind.Null, raw.Value.GetProperty("delivered_at").ValueKind);
        Assert.Equal(1, message.DeliveryCount);
        // Woken by the arrival: a wait that ran out would have returned no message (how soon is the broker bench's to measure).
    }

    [Fact]
    public async Task Recv_without_wait_returns_null_when_the_inbox_is_empty_and_hands_each_message_out_once()
    {
        var (aliceName, carolName) = await TwoAgentsAsync("alice", "carol");
        await using var alice = await _hive.ConnectAsync(aliceName);
        await using var carol = await _hive.ConnectAsync(carolName);
        Assert.Null(await carol.RecvAsync());
        await alice.SendAsync(carolName, "one");
        await alice.SendAsync(carolName, "two");
        Assert.Equal("one", (await carol.RecvAndAckMessageAsync())!.Body);
        Assert.Equal("two", (await carol.RecvAndAckMessageAsync())!.Body);
        Assert.Null(await carol.RecvAsync());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @carolName AND delivered_at IS NULL", new { carolName }));
        Assert.Equal(2, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @carolName AND delivery_count = 1", new { carolName }));
    }

    [Fact]
    public async Task Waiting_recv_times_out_with_null()
    {
        await using var carol = await _hive.ConnectAsync(await _hive.NewAgentAsync("carol"));
        var clock = Stopwatch.StartNew();
        Assert.Null(await carol.RecvAsync(waitMs: 200));
        Assert.True(clock.ElapsedMilliseconds >= 150, $"it answered after {clock.ElapsedMilliseconds} ms: it did not wait"); // no upper bound: a loaded machine
    }

    [Fact]
    public async Task Stream_shows_sent_then_delivered_with_increasing_ids()
    {
        var (aliceName, bobName) = await TwoAgentsAsync();
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        await using var bob = await _hive.ConnectAsync(bobName);

        var id = await alice.SendAsync(bobName, "watch this");
        var received = await bob.RecvAsync(waitMs: 5_000);
        Assert.NotNull(received);
        await bob.AckAsync(id); // the delivered event fires on the acknowledgement

        var sent = await events.WaitForAsync("sent", e => e.GetProperty("id").GetInt64() == id);
        var delivered = await events.WaitForAsync("delivered", e => e.GetProperty("id").GetInt64() == id);
        Assert.True(delivered.Id > sent.Id, $"delivered {delivered.Id} after sent {sent.Id}");
        Assert.True(sent.Id > events.Hello.Json.GetProperty("seq").GetInt64());
        Assert.Equal("watch this", sent.Payload<MessageView>().Body);
        Assert.Equal(aliceName, sent.Payload<MessageView>().From);
        Assert.Equal(JsonValueKind.Null, sent.Json.GetProperty("delivered_at").ValueKind); // present and null, raw
        Assert.NotNull(delivered.Payload<MessageView>().DeliveredAt);
        Assert.NotNull(delivered.Payload<MessageView>().FileRefs); // an array: null and absent read as null
    }

    [Fact]
    public async Task A_parked_recv_is_handed_the_message_by_its_send_and_sent_is_out_before_it_can_be_delivered()
    {
        var (aliceName, bobName) = await TwoAgentsAsync("alice", "grace");
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        await using var grace = await _hive.ConnectAsync(bobName);
        var waiting = grace.RecvMessageAsync(waitMs: 10_000);
        var metrics = _hive.Service<MessagesMetrics>();
        await HiveInstance.Until(() => metrics.ParkedRecvs(bobName) == 1, what: "grace's recv to park");
        var handedOverBefore = metrics.HandedOver;

        var id = await alice.SendAsync(bobName, "straight to you");
        // Handed out in the send's own transaction: in flight to grace by the time the send is acknowledged.
        Assert.Equal(1, _hive.QueryDb<long>("SELECT delivery_count FROM messages WHERE id = @id", new { id }));
        var message = await waiting;
        Assert.Equal(id, message?.Id);
        Assert.Equal(1, message!.DeliveryCount);
        Assert.True(metrics.HandedOver > handedOverBefore, "answered by the hand-over, not by a look of its own");
        await grace.AckAsync(id); // at once: its `delivered` still comes after its `sent`

        var sent = await events.WaitForAsync("sent", e => e.GetProperty("id").GetInt64() == id);
        var delivered = await events.WaitForAsync("delivered", e => e.GetProperty("id").GetInt64() == id);
        Assert.True(delivered.Id > sent.Id, $"delivered {delivered.Id} after sent {sent.Id}");
        Assert.Equal(0, metrics.ParkedRecvs(bobName));
    }

    [Fact]
    public async Task Concurrent_receivers_of_one_agent_never_get_the_same_message()
    {
        var (aliceName, carolName) = await TwoAgentsAsync("alice", "carol");
        await using var alice = await _hive.ConnectAsync(aliceName);
        var receivers = new List<AgentClient>();
        for (var i = 0; i < 4; i++) receivers.Add(await _hive.ConnectAsync(carolName));
        const int count = 100;
        var waits = receivers.Select(async r =>
        {
            var got = new List<long>();
            while (await r.RecvMessageAsync(waitMs: 500) is { } m) got.Add(m.Id);
            return got;
        }).ToList();
        var sent = new List<long>();
        for (var i = 0; i < count; i++) sent.Add(await alice.SendAsync(carolName, $"m{i}"));
        var received = (await Task.WhenAll(waits)).SelectMany(x => x).ToList();
        foreach (var r in receivers) await r.DisposeAsync();

        Assert.Equal(sent.Order(), received.Order());
    }

    [Theory]
    [InlineData("""{"op":"recv","wait_ms":"soon"}""", "bad_request")]
    [InlineData("""{"op":"recv","wait_ms":-1}""", "validation")]
    [InlineData("""{"op":"recv","wait_ms":30001}""", "validation")]
    public async Task Bad_socket_recv_gets_an_error_and_changes_nothing(string line, string code)
    {
        var (aliceName, bobName) = await TwoAgentsAsync();
        await using (var bob = await _hive.ConnectAsync(bobName)) await bob.SendAsync(aliceName, "waiting for alice");
        await using var alice = await _hive.ConnectAsync(aliceName);

        var reply = await alice.CallRawAsync(line);

        Assert.False(reply.GetProperty("ok").GetBoolean()); // a line no args record can write, so the reply raw
        var refusal = reply.Deserialize<Refusal>(HiveJson.Options)!;
        Assert.Equal(code, refusal.Code);
        Assert.False(string.IsNullOrWhiteSpace(refusal.Error));
        // Nothing was stored or handed out, and the connection stays usable after the error.
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = @aliceName", new { aliceName }));
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @aliceName AND delivered_at IS NULL", new { aliceName }));
        Assert.Equal(aliceName, (await alice.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
    }

    private async Task<(string, string)> TwoAgentsAsync(string first = "alice", string second = "bob")
    {
        var agents = await _hive.NewAgentsAsync(first, second);
        return (agents[0], agents[1]);
    }
}
