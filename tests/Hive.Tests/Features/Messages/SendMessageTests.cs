using System.Text;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;

namespace Hive.Tests.Features.Messages;

/// <summary>SendMessage: agents over their sockets and the operator over HTTP; every bad send gets a clear error with a code and stores nothing.</summary>
[Collection(MessagesHive.Name)]
public sealed class SendMessageTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Operator_sends_over_http_and_the_agent_receives_it()
    {
        var alice = await _hive.NewAgentAsync("alice");
        using var response = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = alice, body = "from the operator" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var raw = await response.Content.ReadFromJsonAsync<JsonElement>();
        var created = raw.Deserialize<MessageView>(HiveJson.Options)!;
        Assert.Equal("operator", created.From);
        // The time's exact text on the wire, raw.
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", raw.GetProperty("sent_at").GetString());

        await using var client = await _hive.ConnectAsync(alice);
        var message = await client.RecvMessageAsync();
        Assert.Equal(created.Id, message!.Id);
        Assert.Equal("operator", message.From);
    }

    [Fact]
    public async Task A_body_of_exactly_1024_bytes_is_accepted()
    {
        var (alice, bob) = await TwoAgentsAsync();
        await using var client = await _hive.ConnectAsync(alice);
        var id = await client.SendAsync(bob, new string('x', 1022) + "é");
        Assert.Equal(1024, _hive.QueryDb<long>("SELECT length(CAST(body AS BLOB)) FROM messages WHERE id = @id", new { id }));
    }

    /// <summary>{bob} is the test's own recipient, {Bob} the same name capitalised (not an agent).</summary>
    public static TheoryData<string, string> BadSendLines => new()
    {
        { """{"op":"send","to":"{bob}","body":"BODY_TOO_LARGE"}""", "too_large" },
        { """{"op":"send","to":"nobody","body":"hi"}""", "not_found" },
        { """{"op":"send","to":"{Bob}","body":"hi"}""", "not_found" },
        { """{"op":"send","to":"../{bob}","body":"hi"}""", "not_found" },
        { """{"op":"send","to":"{bob}","body":""}""", "validation" },
        { """{"op":"send","to":"{bob}","body":"   "}""", "validation" },
        { """{"op":"send","to":"{bob}"}""", "validation" },
        { """{"op":"send","body":"hi"}""", "validation" },
        { """{"op":"send","to":"{bob}","body":42}""", "bad_request" },
        { """{"op":"send","to":["{bob}"],"body":"hi"}""", "bad_request" },
    };

    [Theory]
    [MemberData(nameof(BadSendLines))]
    public async Task Bad_socket_send_gets_an_error_and_changes_nothing(string line, string code)
    {
        var (alice, bob) = await TwoAgentsAsync();
        line = line.Replace("BODY_TOO_LARGE", new string('é', 513)) // 1026 UTF-8 bytes, 513 chars
            .Replace("{bob}", bob).Replace("{Bob}", char.ToUpperInvariant(bob[0]) + bob[1..]);
        await using var client = await _hive.ConnectAsync(alice);

        var reply = await client.CallRawAsync(line);

        Assert.False(reply.GetProperty("ok").GetBoolean()); // a line no args record can write, so the reply raw
        var refusal = reply.Deserialize<Refusal>(HiveJson.Options)!;
        Assert.Equal(code, refusal.Code);
        Assert.False(string.IsNullOrWhiteSpace(refusal.Error));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = @alice", new { alice }));
        // The connection stays usable after the error.
        Assert.Equal(alice, (await client.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
    }

    [Fact]
    public async Task Pipelined_requests_get_replies_in_order()
    {
        var (alice, bob) = await TwoAgentsAsync();
        await using var sender = await _hive.ConnectAsync(alice);
        var lines = string.Concat(Enumerable.Range(0, 20).Select(i => $$"""{"op":"send","to":"{{bob}}","body":"p{{i}}"}""" + "\n"));
        await sender.WriteRawAsync(Encoding.UTF8.GetBytes(lines));
        var ids = new List<long>();
        for (var i = 0; i < 20; i++) ids.Add((await sender.ReadReplyAsync()).Deserialize<SendReply>(HiveJson.Options)!.Id);
        Assert.Equal(ids.Order(), ids);
        await using var receiver = await _hive.ConnectAsync(bob);
        for (var i = 0; i < 20; i++) Assert.Equal($"p{i}", (await receiver.RecvMessageAsync())!.Body);
    }

    /// <summary>{bob} is the test's own recipient.</summary>
    public static TheoryData<string?, string, HttpStatusCode> BadHttpBodies => new()
    {
        { """{"to":"{bob}","body":"BODY_TOO_LARGE"}""", "application/json", HttpStatusCode.RequestEntityTooLarge },
        { """{"to":"nobody","body":"hi"}""", "application/json", HttpStatusCode.NotFound },
        { """{"to":"operator","body":"hi"}""", "application/json", HttpStatusCode.BadRequest },
        { """{"to":"{bob}","body":""}""", "application/json", HttpStatusCode.BadRequest },
        { """{"to":"{bob}"}""", "application/json", HttpStatusCode.BadRequest },
        { "{\"to\":\"{bob}\",\"body\":\"hi", "application/json", HttpStatusCode.BadRequest },
        { """{"to":"{bob}","body":7}""", "application/json", HttpStatusCode.BadRequest },
        { "null", "application/json", HttpStatusCode.BadRequest },
        { "", "application/json", HttpStatusCode.BadRequest },
        { """{"to":"{bob}","body":"hi"}""", "text/plain", HttpStatusCode.BadRequest },
        { "HUGE", "application/json", HttpStatusCode.RequestEntityTooLarge },
    };

    [Theory]
    [MemberData(nameof(BadHttpBodies))]
    public async Task Bad_operator_send_gets_problem_json_and_changes_nothing(string? body, string contentType, HttpStatusCode status)
    {
        var bob = await _hive.NewAgentAsync("bob");
        body = body!.Replace("BODY_TOO_LARGE", new string('x', 1025)).Replace("{bob}", bob);
        if (body == "HUGE") body = $$"""{"to":"{{bob}}","body":""" + "\"" + new string('x', 2_000_000) + "\"}";
        var before = LastMessageId();
        using var content = new StringContent(body, Encoding.UTF8, contentType);
        // A client (so a connection) of this request's own, as each case had when it had a hive of its own: sent over
        // the shared client's pooled connections, the 2 MB upload now and then died of a broken pipe before the 413
        // could be read (1 run in 4 here; never with a fresh connection in 10).
        using var http = _hive.CreateClient();
        // And the 2 MB body only after the server said to go on (as a client uploading that much should ask): the 413
        // comes first and the body is never written, so no broken pipe can end the request before its answer is read.
        if (status == HttpStatusCode.RequestEntityTooLarge) http.DefaultRequestHeaders.ExpectContinue = true;

        using var response = await http.PostAsync("/api/messages", content);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<Problem>(HiveJson.Options))!;
        Assert.Equal((int)status, problem.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail));
        // Nothing the operator sent was stored (this test's send is the only one while it runs).
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'operator' AND id > @before", new { before }));
    }

    [Fact]
    public async Task Validation_problem_names_the_field()
    {
        var bob = await _hive.NewAgentAsync("bob");
        using var response = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = bob, body = "" });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("validation", Problem.Of(problem).Code);
        Assert.True(problem.GetProperty("errors").TryGetProperty("body", out _)); // the problem's errors, raw: its record carries none
    }

    [Fact]
    public async Task Sixteen_agents_sending_200_each_at_once_lose_nothing_duplicate_nothing_and_keep_order()
    {
        const int agents = 16, perAgent = 200;
        var senders = await _hive.NewAgentsAsync([.. Enumerable.Range(0, agents).Select(i => $"agent{i}")]);
        var sink = await _hive.NewAgentAsync("sink");
        var clients = new List<AgentClient>();
        foreach (var sender in senders) clients.Add(await _hive.ConnectAsync(sender));
        using var start = new SemaphoreSlim(0);

        var sending = clients.Select((client, i) => Task.Run(async () =>
        {
            await start.WaitAsync();
            var failures = new List<string>();
            for (var n = 0; n < perAgent; n++)
            {
                var reply = await client.CallRawAsync(JsonSerializer.Serialize(new { op = "send", to = sink, body = $"agent-{i}:{n}" }));
                if (!reply.GetProperty("ok").GetBoolean()) failures.Add(reply.ToString()); // every failure kept, raw
            }
            return failures;
        })).ToList();
        start.Release(agents);
        var failures = (await Task.WhenAll(sending)).SelectMany(f => f).ToList();
        Assert.Empty(failures); // no SQLITE_BUSY (or anything else) reached a caller

        await using var receiver = await _hive.ConnectAsync(sink);
        var bodies = new List<string>();
        while (await receiver.RecvAndAckMessageAsync() is { } message) bodies.Add(message.Body);
        foreach (var client in clients) await client.DisposeAsync();

        Assert.Equal(agents * perAgent, bodies.Count);
        Assert.Equal(bodies.Count, bodies.Distinct().Count());
        foreach (var group in bodies.Select(b => b.Split(':')).GroupBy(p => p[0]))
            Assert.Equal(Enumerable.Range(0, perAgent), group.Select(p => int.Parse(p[1])));
        Assert.Equal(agents * perAgent, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @sink AND delivered_at IS NOT NULL", new { sink }));
    }

    [Fact]
    public async Task Undelivered_messages_survive_a_restart()
    {
        // A hive of its own: the test restarts it.
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"]);
        await using (var alice = await hive.ConnectAsync("alice"))
        {
            await alice.SendAsync("bob", "before restart 1");
            await alice.SendAsync("bob", "before restart 2");
        }

        await hive.RestartAsync();

        await using var bob = await hive.ConnectAsync("bob");
        Assert.Equal("before restart 1", (await bob.RecvMessageAsync())!.Body);
        Assert.Equal("before restart 2", (await bob.RecvMessageAsync())!.Body);
        Assert.Null(await bob.RecvAsync());
    }

    private async Task<(string Alice, string Bob)> TwoAgentsAsync()
    {
        var agents = await _hive.NewAgentsAsync("alice", "bob");
        return (agents[0], agents[1]);
    }

    private long LastMessageId() => _hive.QueryDb<long>("SELECT coalesce(max(id), 0) FROM messages");
}
