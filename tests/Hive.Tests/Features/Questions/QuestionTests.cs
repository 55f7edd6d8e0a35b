using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hive.Tests.Infrastructure;

namespace Hive.Tests.Features.Questions;

/// <summary>Questions as agents and the operator use them: over real sockets, HTTP and SSE.</summary>
public sealed class QuestionTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob", "carol"]);
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", "alice", "state", "plan.md"), "the plan");
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "shared", "answer.md"), "the long answer");
    }

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private static async Task<long> AskAsync(AgentClient agent, string question, string? to = null)
    {
        var reply = await agent.CallAsync(to is null ? new { op = "ask", question } : new { op = "ask", question, to });
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        return reply.GetProperty("id").GetInt64();
    }

    private Task<HttpResponseMessage> AnswerOverHttp(long id, object body) => _hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", body);

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    private async Task<JsonElement> AgentRow(string name) =>
        (await _hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);

    [Fact]
    public async Task An_operator_question_is_listed_answered_over_http_and_the_answer_reaches_the_askers_recv()
    {
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync("alice");
        var id = await AskAsync(alice, "may I deploy? see /agents/alice/state/plan.md");

        var added = await events.WaitForAsync("question_added");
        Assert.Equal(id, added.Json.GetProperty("id").GetInt64());
        Assert.Equal(JsonValueKind.Null, added.Json.GetProperty("target").ValueKind);
        Assert.Equal(["/agents/alice/state/plan.md"], Strings(added.Json.GetProperty("question_refs")));
        Assert.Equal("operator", added.Json.GetProperty("waiting_on").GetString());

        var listed = await _hive.GetJsonAsync("/api/questions?filter=operator");
        var pending = listed.GetProperty("pending").EnumerateArray().Single();
        Assert.Equal(id, pending.GetProperty("id").GetInt64());
        Assert.Equal("alice", pending.GetProperty("asker").GetString());
        Assert.Equal(JsonValueKind.Null, pending.GetProperty("answer").ValueKind);
        var row = await AgentRow("alice");
        Assert.Equal("operator", row.GetProperty("waiting_on").GetString());
        Assert.NotEqual(JsonValueKind.Null, row.GetProperty("waiting_since").ValueKind);

        using var response = await AnswerOverHttp(id, new { answer = "yes, details in /shared/answer.md" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answered = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("operator", answered.GetProperty("answerer").GetString());

        var message = (await alice.RecvAsync(waitMs: 5_000))!.Value;
        Assert.Equal("answer", message.GetProperty("kind").GetString());
        Assert.Equal("operator", message.GetProperty("from").GetString());
        Assert.Equal("yes, details in /shared/answer.md", message.GetProperty("body").GetString());
        Assert.Equal(id, message.GetProperty("question_id").GetInt64());
        Assert.Equal(["/shared/answer.md"], Strings(message.GetProperty("answer_refs")));

        var resolved = await events.WaitForAsync("question_resolved");
        Assert.Equal(id, resolved.Json.GetProperty("id").GetInt64());
        Assert.Equal(["/shared/answer.md"], Strings(resolved.Json.GetProperty("answer_refs")));
        Assert.Equal(JsonValueKind.Null, resolved.Json.GetProperty("waiting_on").ValueKind);
        Assert.Equal(JsonValueKind.Null, (await AgentRow("alice")).GetProperty("waiting_on").ValueKind);

        var history = await _hive.GetJsonAsync("/api/questions?filter=all");
        Assert.Empty(history.GetProperty("pending").EnumerateArray());
        Assert.Equal("yes, details in /shared/answer.md", history.GetProperty("answered")[0].GetProperty("answer").GetString());
    }

    [Fact]
    public async Task A_peer_question_is_answered_by_its_target_and_no_one_else()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        await using var carol = await _hive.ConnectAsync("carol");
        var id = await AskAsync(alice, "bob, which branch?", to: "bob");
        Assert.Equal("bob", (await AgentRow("alice")).GetProperty("waiting_on").GetString());

        var intruder = await carol.CallAsync(new { op = "answer", id, answer = "main, trust me" });
        Assert.False(intruder.GetProperty("ok").GetBoolean());
        Assert.Equal("forbidden", intruder.GetProperty("code").GetString());
        var self = await alice.CallAsync(new { op = "answer", id, answer = "answering myself" });
        Assert.Equal("forbidden", self.GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE answered_at IS NOT NULL"));

        var answer = await bob.CallAsync(new { op = "answer", id, answer = "feature/x" });
        Assert.True(answer.GetProperty("ok").GetBoolean(), answer.ToString());
        var message = (await alice.RecvAsync(waitMs: 5_000))!.Value;
        Assert.Equal("bob", message.GetProperty("from").GetString());
        Assert.Equal("feature/x", message.GetProperty("body").GetString());
        Assert.Equal("bob", _hive.QueryDb<string>("SELECT answerer FROM questions WHERE id = @id", new { id }));

        var again = await bob.CallAsync(new { op = "answer", id, answer = "no wait" });
        Assert.Equal("conflict", again.GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_operator_overrides_a_peer_question_and_the_record_says_so()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var id = await AskAsync(alice, "bob, are you there?", to: "bob");
        using var response = await AnswerOverHttp(id, new { answer = "bob is busy; go ahead" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var listed = await _hive.GetJsonAsync("/api/questions?filter=peer");
        var row = listed.GetProperty("answered").EnumerateArray().Single(q => q.GetProperty("id").GetInt64() == id);
        Assert.Equal("operator", row.GetProperty("answerer").GetString());
        Assert.Equal("bob", row.GetProperty("target").GetString());

        await using var bob = await _hive.ConnectAsync("bob");
        var late = await bob.CallAsync(new { op = "answer", id, answer = "here!" });
        Assert.Equal("conflict", late.GetProperty("code").GetString());
        using var twice = await AnswerOverHttp(id, new { answer = "again" });
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE kind = 'answer'"));
    }

    [Fact]
    public async Task Filters_return_exactly_the_right_rows()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var aliceOp = await AskAsync(alice, "alice to operator");
        var aliceBob = await AskAsync(alice, "alice to bob", "bob");
        var bobOp = await AskAsync(bob, "bob to operator");
        var bobCarol = await AskAsync(bob, "bob to carol", "carol");
        using (await AnswerOverHttp(bobOp, new { answer = "done" })) { }

        // "pending ids | answered ids", for readable comparisons.
        async Task<string> Filter(string filter)
        {
            var result = await _hive.GetJsonAsync($"/api/questions?filter={filter}");
            static string Ids(JsonElement list) => string.Join(",", list.EnumerateArray().Select(q => q.GetProperty("id").GetInt64()));
            return Ids(result.GetProperty("pending")) + "|" + Ids(result.GetProperty("answered"));
        }

        static string Expect(long[] pending, long[] answered) => string.Join(",", pending) + "|" + string.Join(",", answered);

        Assert.Equal(Expect([aliceOp, aliceBob, bobCarol], [bobOp]), await Filter("all"));
        Assert.Equal(Expect([aliceOp], [bobOp]), await Filter("operator"));
        Assert.Equal(Expect([aliceBob, bobCarol], []), await Filter("peer"));
        Assert.Equal(Expect([aliceOp, aliceBob], []), await Filter("alice"));
        Assert.Equal(Expect([aliceBob, bobCarol], [bobOp]), await Filter("bob"));
        Assert.Equal(Expect([bobCarol], []), await Filter("carol"));
        Assert.Equal(Expect([], []), await Filter("manager"));

        foreach (var badFilter in new[] { "Not%20A%20Name", "alice%0A", "-x", "operator%00" })
        {
            using var bad = await _hive.Http.GetAsync($"/api/questions?filter={badFilter}");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }
        var state = await _hive.GetJsonAsync("/api/state");
        Assert.Equal(3, state.GetProperty("questions").GetProperty("pending").GetArrayLength());
    }

    [Fact]
    public async Task Waiting_state_follows_the_oldest_open_question_and_clears()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var first = await AskAsync(alice, "to bob first", "bob");
        var second = await AskAsync(alice, "then the operator");
        Assert.Equal("bob", (await AgentRow("alice")).GetProperty("waiting_on").GetString());

        await bob.CallAsync(new { op = "answer", id = first, answer = "ok" });
        Assert.Equal("operator", (await AgentRow("alice")).GetProperty("waiting_on").GetString());
        using (await AnswerOverHttp(second, new { answer = "ok" })) { }
        var row = await AgentRow("alice");
        Assert.Equal(JsonValueKind.Null, row.GetProperty("waiting_on").ValueKind);
        Assert.Equal(JsonValueKind.Null, row.GetProperty("waiting_since").ValueKind);
    }

    public static TheoryData<string, string> BadSocketRequests => new()
    {
        { """{"op":"ask","question":""}""", "validation" },
        { """{"op":"ask"}""", "validation" },
        { """{"op":"ask","question":"LARGE"}""", "too_large" },
        { """{"op":"ask","question":"me?","to":"alice"}""", "validation" },
        { """{"op":"ask","question":"who?","to":"nobody"}""", "not_found" },
        { """{"op":"ask","question":"who?","to":"../bob"}""", "not_found" },
        { """{"op":"ask","question":42}""", "bad_request" },
        { """{"op":"ask","question":"x","to":["bob"]}""", "bad_request" },
        { """{"op":"answer","id":999999,"answer":"x"}""", "not_found" },
        { """{"op":"answer","answer":"x"}""", "bad_request" },
        { """{"op":"answer","id":"1","answer":"x"}""", "bad_request" },
        { """{"op":"answer","id":1.5,"answer":"x"}""", "bad_request" },
        { """{"op":"answer","id":-1,"answer":"x"}""", "validation" },
    };

    [Theory]
    [MemberData(nameof(BadSocketRequests))]
    public async Task Bad_socket_requests_get_an_error_and_change_nothing(string line, string code)
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var reply = await alice.CallRawAsync(line.Replace("LARGE", new string('q', 1025)));
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions"));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages"));
    }

    [Fact]
    public async Task Bad_operator_answers_get_problem_json_and_change_nothing()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var id = await AskAsync(alice, "still there?");
        var cases = new (string Url, string Body, HttpStatusCode Status)[]
        {
            ($"/api/questions/{id}/answer", """{"answer":""}""", HttpStatusCode.BadRequest),
            ($"/api/questions/{id}/answer", "{}", HttpStatusCode.BadRequest),
            ($"/api/questions/{id}/answer", """{"answer":7}""", HttpStatusCode.BadRequest),
            ($"/api/questions/{id}/answer", "{not json", HttpStatusCode.BadRequest),
            ($"/api/questions/{id}/answer", "{\"answer\":\"" + new string('a', 1025) + "\"}", HttpStatusCode.RequestEntityTooLarge),
            ("/api/questions/999999/answer", """{"answer":"x"}""", HttpStatusCode.NotFound),
        };
        foreach (var (url, body, status) in cases)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await _hive.Http.PostAsync(url, content);
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE answered_at IS NOT NULL"));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages"));
    }

    [Fact]
    public async Task Racing_answers_commit_exactly_once()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var id = await AskAsync(alice, "race?", "bob");
        var bobs = new List<AgentClient>();
        for (var i = 0; i < 8; i++) bobs.Add(await _hive.ConnectAsync("bob"));
        var replies = await Task.WhenAll(bobs.Select((b, i) => b.CallAsync(new { op = "answer", id, answer = $"answer {i}" })));
        foreach (var b in bobs) await b.DisposeAsync();
        Assert.Equal(1, replies.Count(r => r.GetProperty("ok").GetBoolean()));
        Assert.All(replies.Where(r => !r.GetProperty("ok").GetBoolean()), r => Assert.Equal("conflict", r.GetProperty("code").GetString()));
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE kind = 'answer'"));
    }
}
