using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Features.Messages;

namespace Hive.Tests.Features.Messages;

/// <summary>
/// <c>in_reply_to</c> threads a message to one its sender sent or received, and <c>to: "*"</c> reaches
/// every live agent but the sender exactly once, each copy carrying the same <c>broadcast_id</c>. A hive of its own: a
/// broadcast reaches every agent there is, so the test must know them all.
/// </summary>
public sealed class RepliesAndBroadcastTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob", "carol"]);

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    [Fact]
    public async Task A_reply_carries_in_reply_to_to_its_reader_the_history_and_the_page()
    {
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var question = await alice.SendAsync("bob", "lunch?");
        Assert.Equal(question, (await bob.RecvAndAckMessageAsync())!.Id);

        var reply = (await bob.CallAsync(MessageVerbs.Send, new SendArgs("alice", "yes", null, question))).Id;

        var raw = (await alice.RecvAndAckAsync())!.Value;
        var received = raw.Deserialize<MessageView>(HiveJson.Options)!;
        Assert.Equal(reply, received.Id);
        Assert.Equal(question, received.InReplyTo);
        Assert.Equal(JsonValueKind.Null, raw.GetProperty("broadcast_id").ValueKind); // present and null, raw
        var history = await _hive.GetAsync<List<MessageView>>("/api/messages?limit=5");
        Assert.Equal(question, history.Single(m => m.Id == reply).InReplyTo);
        var sent = await events.WaitForPayloadAsync<MessageView>("sent", e => e.Id == reply);
        Assert.Equal(question, sent.InReplyTo);
        // The sender may reply to what it sent, too (a follow-up), and the operator over HTTP.
        await alice.CallAsync(MessageVerbs.Send, new SendArgs("bob", "noon", null, question));
        using var response = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "bob", body = "enjoy", in_reply_to = reply });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode); // the operator was in neither message
    }

    [Theory]
    [InlineData("""{"op":"send","to":"bob","body":"hi","in_reply_to":QUESTION}""", "not_found")] // carol was not in it
    [InlineData("""{"op":"send","to":"bob","body":"hi","in_reply_to":999999}""", "not_found")]
    [InlineData("""{"op":"send","to":"bob","body":"hi","in_reply_to":0}""", "validation")]
    [InlineData("""{"op":"send","to":"bob","body":"hi","in_reply_to":"1"}""", "bad_request")]
    [InlineData("""{"op":"send","to":"*","body":"hi","in_reply_to":QUESTION}""", "not_found")]
    [InlineData("""{"op":"send","to":"*","body":""}""", "validation")]
    public async Task A_reply_to_someone_elses_message_or_a_bad_one_is_refused_and_stores_nothing(string line, string code)
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var carol = await _hive.ConnectAsync("carol");
        var question = await alice.SendAsync("bob", "between us");
        var before = _hive.QueryDb<long>("SELECT count(*) FROM messages");

        var reply = await carol.CallRawAsync(line.Replace("QUESTION", question.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.False(reply.GetProperty("ok").GetBoolean()); // a line no args record can write, so the reply raw
        Assert.Equal(code, reply.Deserialize<Refusal>(HiveJson.Options)!.Code);
        Assert.Equal(before, _hive.QueryDb<long>("SELECT count(*) FROM messages"));
    }

    [Fact]
    public async Task A_broadcast_reaches_every_live_agent_but_the_sender_exactly_once_and_a_retry_stores_nothing()
    {
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync("alice");
        var sent = await alice.CallAsync(MessageVerbs.Send, new SendArgs("*", "standup in 5", "standup-1", null));
        var broadcastId = sent.BroadcastId!.Value;
        var ids = sent.Ids!.ToList();
        Assert.Equal(3, ids.Count); // bob, carol, manager
        Assert.Equal(ids.Min(), broadcastId);
        Assert.Equal(broadcastId, sent.Id); // a send's reply has an id, a broadcast's too

        foreach (var agent in new[] { "manager", "bob", "carol" })
        {
            await using var client = await _hive.ConnectAsync(agent);
            var message = (await client.RecvAndAckMessageAsync())!;
            Assert.Equal(broadcastId, message.BroadcastId);
            Assert.Equal("alice", message.From);
            Assert.Equal(agent, message.To);
            Assert.Null(await client.RecvAsync()); // once
        }
        Assert.Null(await alice.RecvAsync()); // not to the sender
        foreach (var id in ids) await events.WaitForPayloadAsync<MessageView>("sent", e => e.Id == id);

        var again = await alice.CallAsync(MessageVerbs.Send, new SendArgs("*", "standup in 5", "standup-1", null));
        Assert.Equal(broadcastId, again.BroadcastId);
        Assert.Equal(ids, again.Ids!.ToList());
        Assert.Equal(3, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE broadcast_id = @broadcastId", new { broadcastId }));
    }

    [Fact]
    public async Task The_operator_broadcasts_over_http_to_every_agent()
    {
        using var response = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "*", body = "maintenance at noon" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<BroadcastMessage.Result>(HiveJson.Options))!;
        var recipients = created.Messages.Select(m => m.To).Order().ToList();
        Assert.Equal(["alice", "bob", "carol", "manager"], recipients);
        Assert.All(created.Messages, m => Assert.Equal(created.BroadcastId, m.BroadcastId));
    }
}
