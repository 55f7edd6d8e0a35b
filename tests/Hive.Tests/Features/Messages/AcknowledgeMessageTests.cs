using System.Net.Sockets;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;

namespace Hive.Tests.Features.Messages;

/// <summary>
/// At-least-once delivery: a message handed out by <c>recv</c> is in flight until acknowledged; an agent that dies
/// with it unread gets it again after the ack timeout, flagged; past MaxDeliveries it is set aside and the operator
/// told. One hive for the class, with a short ack timeout (1 s) and three deliveries at most; each test uses agents
/// of its own.
/// </summary>
public sealed class AcknowledgeMessageTests(AcknowledgeMessageTests.Fixture fixture)
    : SharedHiveTests(fixture), IClassFixture<AcknowledgeMessageTests.Fixture>
{
    private const double AckTimeoutSeconds = 3; // a busy machine can stall a test past 1 s between a hand-out and its check
    private readonly HiveInstance _hive = fixture.Hive;

    public sealed class Fixture : HiveFixture
    {
        protected override string[] Agents => ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];

        protected override string[] Args =>
        [
            "--Hive:Messages:AckTimeoutSeconds", AckTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Hive:Messages:MaxDeliveries", "3",
        ];
    }

    [Fact]
    public async Task A_message_whose_agent_died_with_the_reply_unread_is_handed_out_again_flagged()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var id = await alice.SendAsync("bob", "do the thing");

        // bob's recv is answered (the reply sits in bob's receive buffer), and bob dies without reading it.
        using (var dying = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await dying.ConnectAsync(new UnixDomainSocketEndPoint(_hive.SocketPath("bob")));
            await dying.SendAsync("{\"op\":\"recv\"}\n"u8.ToArray());
            await HiveInstance.Until(() => dying.Available > 0, what: "the recv reply in bob's buffer");
        }

        await using var bob = await _hive.ConnectAsync("bob");
        // The message is in flight, not available, until its ack timeout.
        Assert.Equal(1, _hive.QueryDb<long>("SELECT delivery_count FROM messages WHERE id = @id", new { id }));
        Assert.Null(await bob.RecvAsync());
        var raw = (await bob.RecvAsync(waitMs: 10_000))!.Value; // woken by the timeout, not by a new message
        var again = raw.Deserialize<MessageView>(HiveJson.Options)!;
        Assert.Equal(id, again.Id);
        // The wire's own flags, raw: the record computes redelivered, and cannot tell a null delivered_at from none.
        Assert.True(raw.GetProperty("redelivered").GetBoolean());
        Assert.Equal(2, again.DeliveryCount);
        Assert.Equal(JsonValueKind.Null, raw.GetProperty("delivered_at").ValueKind);
    }

    [Fact]
    public async Task An_acknowledged_message_is_delivered_once_and_never_handed_out_again()
    {
        await using var events = await _hive.OpenEventsAsync();
        await using var carol = await _hive.ConnectAsync("carol");
        await using var dave = await _hive.ConnectAsync("dave");
        var id = await carol.SendAsync("dave", "once");

        var raw = (await dave.RecvAsync())!.Value;
        Assert.False(raw.GetProperty("redelivered").GetBoolean()); // the wire's flag, raw: the record computes it
        Assert.Equal(1, raw.Deserialize<MessageView>(HiveJson.Options)!.DeliveryCount);
        await dave.CallAsync(MessageVerbs.Ack, new AckArgs(id));
        await dave.CallAsync(MessageVerbs.Ack, new AckArgs(id)); // again: fine

        var delivered = await events.WaitForPayloadAsync<MessageView>("delivered", m => m.Id == id);
        Assert.NotNull(delivered.DeliveredAt);
        // Well past the ack timeout, nothing comes back.
        Assert.Null(await dave.RecvAsync(waitMs: (int)(AckTimeoutSeconds * 2500)));
    }

    [Fact]
    public async Task Recv_with_ack_acknowledges_and_receives_in_one_round_trip()
    {
        await using var erin = await _hive.ConnectAsync("erin");
        await using var frank = await _hive.ConnectAsync("frank");
        var first = await erin.SendAsync("frank", "one");
        var second = await erin.SendAsync("frank", "two");

        Assert.Equal(first, (await frank.RecvMessageAsync())!.Id);
        var reply = await frank.RecvOneAsync(ack: first);
        Assert.Equal(second, reply.Message!.Id);
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @first AND delivered_at IS NOT NULL", new { first }));
    }

    [Fact]
    public async Task Recv_with_max_hands_out_a_batch_oldest_first()
    {
        await using var grace = await _hive.ConnectAsync("grace");
        await using var heidi = await _hive.ConnectAsync("heidi");
        var ids = new List<long>();
        for (var i = 0; i < 3; i++) ids.Add(await grace.SendAsync("heidi", $"m{i}"));

        var reply = await heidi.RecvManyAsync(2);
        Assert.Equal(ids[..2], reply.Messages.Select(m => m.Id));
        var rest = await heidi.RecvManyAsync(32);
        Assert.Equal(ids[2..], rest.Messages.Select(m => m.Id));
        Assert.Equal("validation", (await heidi.RefusalOfAsync(MessageVerbs.Recv, new RecvArgs(null, null, 33))).Code);
    }

    [Fact]
    public async Task A_message_never_acknowledged_is_set_aside_after_the_last_delivery_and_the_operator_told()
    {
        await using var events = await _hive.OpenEventsAsync();
        await _hive.Service<Hive.Shared.Agents.AgentDirectory>().AddAsync("ivan");
        await using var alice = await _hive.ConnectAsync("alice");
        await using var ivan = await _hive.ConnectAsync("ivan");
        var id = await alice.SendAsync("ivan", "poison");

        for (var delivery = 1; delivery <= 3; delivery++)
        {
            var message = (await ivan.RecvMessageAsync(waitMs: 10_000))!; // handed out, never acknowledged
            Assert.Equal(id, message.Id);
            Assert.Equal(delivery, message.DeliveryCount);
        }
        // The third timeout sets it aside instead of a fourth hand-out.
        Assert.Null(await ivan.RecvAsync(waitMs: (int)(AckTimeoutSeconds * 2500)));
        var setAside = await events.WaitForPayloadAsync<MessageView>("message_undeliverable", m => m.Id == id);
        Assert.NotNull(setAside.UndeliverableAt);
        // The message set aside is named by an extra field of the system message (no record names it).
        var told = await events.WaitForPayloadAsync<MessageView>("sent", m => m.Kind == "undeliverable" && m.Extra?["message_id"].GetInt64() == id);
        Assert.Equal("operator", told.To);
        Assert.Equal("hive", told.From);
        Assert.Equal("conflict", (await ivan.RefusalOfAsync(MessageVerbs.Ack, new AckArgs(id))).Code);
        // Still in the history, never dropped.
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @id AND undeliverable_at IS NOT NULL", new { id }));
    }

    [Fact]
    public async Task A_send_resent_with_the_same_client_id_returns_the_first_id_and_stores_nothing()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var first = await alice.CallAsync(MessageVerbs.Send, new SendArgs("carol", "exactly once", "turn-7/msg-1", null));
        var retry = await alice.CallAsync(MessageVerbs.Send, new SendArgs("carol", "exactly once", "turn-7/msg-1", null));
        var other = await alice.CallAsync(MessageVerbs.Send, new SendArgs("carol", "another", "turn-7/msg-2", null));

        var id = first.Id;
        Assert.Equal(id, retry.Id);
        Assert.NotEqual(id, other.Id);
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'alice' AND client_id = 'turn-7/msg-1'"));
        // Per sender: bob's same client id is bob's own message.
        await using var bob = await _hive.ConnectAsync("bob");
        var bobs = await bob.CallAsync(MessageVerbs.Send, new SendArgs("carol", "mine", "turn-7/msg-1", null));
        Assert.NotEqual(id, bobs.Id);
        Assert.Equal("validation", (await alice.RefusalOfAsync(MessageVerbs.Send, new SendArgs("carol", "x", "", null))).Code);
    }

    [Fact]
    public async Task Acknowledging_what_is_not_yours_is_not_found()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var id = await alice.SendAsync("carol", "for carol only");
        Assert.Equal("not_found", (await bob.RefusalOfAsync(MessageVerbs.Ack, new AckArgs(id))).Code);
        Assert.Equal("not_found", (await bob.RefusalOfAsync(MessageVerbs.Ack, new AckArgs(999_999_999))).Code);
        Assert.Equal("bad_request", (await bob.CallAsync(new { op = "ack" })).GetProperty("code").GetString()); // bad input: the raw line
    }

    [Fact]
    public async Task The_operator_send_takes_a_client_id_too()
    {
        var first = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "hi", client_id = "op-1" });
        var again = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "hi", client_id = "op-1" });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal((await first.Content.ReadFromJsonAsync<MessageView>(HiveJson.Options))!.Id,
            (await again.Content.ReadFromJsonAsync<MessageView>(HiveJson.Options))!.Id);
    }
}
