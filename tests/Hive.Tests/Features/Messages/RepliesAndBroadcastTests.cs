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
        Assert.Equal(question, (await bob.RecvAndAckAsync())!.Value.GetProperty("id").GetInt64());

        var reply = AgentClient.Ok(await bob.CallAsync(new { op = "send", to = "alice", body = "yes", in_reply_to = question })).GetProperty("id").GetInt64();

        var received = (await alice.RecvAndAckAsync())!.Value;
        Assert.Equal(reply, received.GetProperty("id").GetInt64());
        Assert.Equal(question, received.GetProperty("in_reply_to").GetInt64());
        Assert.Equal(JsonValueKind.Null, received.GetProperty("broadcast_id").ValueKind);
        var history = await _hive.GetJsonAsync("/api/messages?limit=5");
        Assert.Equal(question, history.EnumerateArray().Single(m => m.GetProperty("id").GetInt64() == reply).GetProperty("in_reply_to").GetInt64());
        var sent = await events.WaitForAsync("sent", e => e.GetProperty("id").GetInt64() == reply);
        Assert.Equal(question, sent.Json.GetProperty("in_reply_to").GetInt64());
        // The sender may reply to what it sent, too (a follow-up), and the operator over HTTP.
        AgentClient.Ok(await alice.CallAsync(new { op = "send", to = "bob", body = "noon", in_reply_to = question }));
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

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(before, _hive.QueryDb<long>("SELECT count(*) FROM messages"));
    }

    [Fact]
    public async Task A_broadcast_reaches_every_live_agent_but_the_sender_exactly_once_and_a_retry_stores_nothing()
    {
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync("alice");
        var sent = AgentClient.Ok(await alice.CallAsync(new { op = "send", to = "*", body = "standup in 5", client_id = "standup-1" }));
        var broadcastId = sent.GetProperty("broadcast_id").GetInt64();
        var ids = sent.GetProperty("ids").EnumerateArray().Select(i => i.GetInt64()).ToList();
        Assert.Equal(3, ids.Count); // bob, carol, manager
        Assert.Equal(ids.Min(), broadcastId);
        Assert.Equal(broadcastId, sent.GetProperty("id").GetInt64()); // a send's reply has an id, a broadcast's too

        foreach (var agent in new[] { "manager", "bob", "carol" })
        {
            await using var client = await _hive.ConnectAsync(agent);
            var message = (await client.RecvAndAckAsync())!.Value;
            Assert.Equal(broadcastId, message.GetProperty("broadcast_id").GetInt64());
            Assert.Equal("alice", message.GetProperty("from").GetString());
            Assert.Equal(agent, message.GetProperty("to").GetString());
            Assert.Null(await client.RecvAsync()); // once
        }
        Assert.Null(await alice.RecvAsync()); // not to the sender
        foreach (var id in ids) await events.WaitForAsync("sent", e => e.GetProperty("id").GetInt64() == id);

        var again = AgentClient.Ok(await alice.CallAsync(new { op = "send", to = "*", body = "standup in 5", client_id = "standup-1" }));
        Assert.Equal(broadcastId, again.GetProperty("broadcast_id").GetInt64());
        Assert.Equal(ids, again.GetProperty("ids").EnumerateArray().Select(i => i.GetInt64()).ToList());
        Assert.Equal(3, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE broadcast_id = @broadcastId", new { broadcastId }));
    }

    [Fact]
    public async Task The_operator_broadcasts_over_http_to_every_agent()
    {
        using var response = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "*", body = "maintenance at noon" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var recipients = created.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("to").GetString()).Order().ToList();
        Assert.Equal(["alice", "bob", "carol", "manager"], recipients);
        Assert.All(created.GetProperty("messages").EnumerateArray(),
            m => Assert.Equal(created.GetProperty("broadcast_id").GetInt64(), m.GetProperty("broadcast_id").GetInt64()));
    }
}
