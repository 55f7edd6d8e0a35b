using System.Text;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Questions;
using Hive.Features.Questions;
using static Hive.Tests.Features.Questions.QuestionsHive;

namespace Hive.Tests.Features.Questions;

/// <summary>AnswerQuestion: by the operator over HTTP (and overriding a peer question) and by the target agent; bad answers change nothing.</summary>
[Collection(QuestionsHive.Name)]
public sealed class AnswerQuestionTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    private Task<HttpResponseMessage> AnswerOverHttp(long id, object body) => _hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", body);

    private Task<ListQuestions.Result> ListAsync(string filter) => _hive.GetAsync<ListQuestions.Result>($"/api/questions?filter={filter}");

    [Fact]
    public async Task An_operator_question_is_listed_answered_over_http_and_the_answer_reaches_the_askers_recv()
    {
        var aliceName = await _hive.NewAgentAsync("alice");
        var answerFile = $"/shared/{aliceName}-answer.md";
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", aliceName, "state", "plan.md"), "the plan");
        await File.WriteAllTextAsync(_hive.DataDir + answerFile, "the long answer");
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        var id = await AskAsync(alice, $"may I deploy? see /agents/{aliceName}/state/plan.md");

        var added = await events.WaitForAsync("question_added", e => e.Deserialize<QuestionView>(HiveJson.Options)!.Id == id);
        // Present and null, raw: a record cannot tell null from absent. The event's additions (waiting_on) are read raw
        // too: its record is built from the question and the waiting state and cannot be read back.
        Assert.Equal(JsonValueKind.Null, added.Json.GetProperty("target").ValueKind);
        Assert.Equal([$"/agents/{aliceName}/state/plan.md"], added.Payload<QuestionView>().QuestionRefs);
        Assert.Equal("operator", added.Json.GetProperty("waiting_on").GetString());

        var listed = await _hive.GetJsonAsync("/api/questions?filter=operator");
        var pending = listed.GetProperty("pending").EnumerateArray().Single(q => q.GetProperty("id").GetInt64() == id);
        Assert.Equal(aliceName, pending.Deserialize<QuestionView>(HiveJson.Options)!.Asker);
        Assert.Equal(JsonValueKind.Null, pending.GetProperty("answer").ValueKind);
        Assert.Equal([id], (await ListAsync(aliceName)).Pending.Select(q => q.Id));
        var row = await AgentRowAsync(_hive, aliceName);
        Assert.Equal("operator", row.GetProperty("waiting_on").GetString());
        Assert.NotEqual(JsonValueKind.Null, row.GetProperty("waiting_since").ValueKind);

        using var response = await AnswerOverHttp(id, new { answer = $"yes, details in {answerFile}" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answered = await response.Content.ReadFromJsonAsync<QuestionView>(HiveJson.Options);
        Assert.Equal("operator", answered!.Answerer);

        var message = (await alice.RecvMessageAsync(waitMs: 5_000))!;
        Assert.Equal("answer", message.Kind);
        Assert.Equal("operator", message.From);
        Assert.Equal($"yes, details in {answerFile}", message.Body);
        // The question's id and the answer's refs are extra fields of the system message (no record names them).
        Assert.Equal(id, message.Extra!["question_id"].GetInt64());
        Assert.Equal([answerFile], message.Extra["answer_refs"].Deserialize<string[]>()!);

        var resolved = await events.WaitForAsync("question_resolved", e => e.Deserialize<QuestionView>(HiveJson.Options)!.Id == id);
        Assert.Equal([answerFile], resolved.Payload<QuestionView>().AnswerRefs);
        Assert.Equal(JsonValueKind.Null, resolved.Json.GetProperty("waiting_on").ValueKind);
        Assert.Equal(JsonValueKind.Null, (await AgentRowAsync(_hive, aliceName)).GetProperty("waiting_on").ValueKind);

        var history = await ListAsync("all");
        Assert.DoesNotContain(id, history.Pending.Select(q => q.Id));
        var done = history.Answered.Single(q => q.Id == id);
        Assert.Equal($"yes, details in {answerFile}", done.Answer);
    }

    [Fact]
    public async Task A_peer_question_is_answered_by_its_target_and_no_one_else()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob", "carol");
        await using var alice = await _hive.ConnectAsync(names[0]);
        await using var bob = await _hive.ConnectAsync(names[1]);
        await using var carol = await _hive.ConnectAsync(names[2]);
        var id = await AskAsync(alice, "bob, which branch?", to: names[1]);
        Assert.Equal(names[1], (await AgentRowAsync(_hive, names[0])).GetProperty("waiting_on").GetString());

        var intruder = await carol.RefusalOfAsync(QuestionVerbs.Answer, new AnswerArgs(id, "main, trust me"));
        Assert.Equal("forbidden", intruder.Code);
        var self = await alice.RefusalOfAsync(QuestionVerbs.Answer, new AnswerArgs(id, "answering myself"));
        Assert.Equal("forbidden", self.Code);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE id = @id AND answered_at IS NOT NULL", new { id }));

        await bob.CallAsync(QuestionVerbs.Answer, new AnswerArgs(id, "feature/x"));
        var message = (await alice.RecvMessageAsync(waitMs: 5_000))!;
        Assert.Equal(names[1], message.From);
        Assert.Equal("feature/x", message.Body);
        Assert.Equal(names[1], _hive.QueryDb<string>("SELECT answerer FROM questions WHERE id = @id", new { id }));

        var again = await bob.RefusalOfAsync(QuestionVerbs.Answer, new AnswerArgs(id, "no wait"));
        Assert.Equal("conflict", again.Code);
    }

    [Fact]
    public async Task The_operator_overrides_a_peer_question_and_the_record_says_so()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(names[0]);
        var id = await AskAsync(alice, "bob, are you there?", to: names[1]);
        using var response = await AnswerOverHttp(id, new { answer = "bob is busy; go ahead" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var row = (await ListAsync("peer")).Answered.Single(q => q.Id == id);
        Assert.Equal("operator", row.Answerer);
        Assert.Equal(names[1], row.Target);

        await using var bob = await _hive.ConnectAsync(names[1]);
        var late = await bob.RefusalOfAsync(QuestionVerbs.Answer, new AnswerArgs(id, "here!"));
        Assert.Equal("conflict", late.Code);
        using var twice = await AnswerOverHttp(id, new { answer = "again" });
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE kind = 'answer' AND recipient = @alice", new { alice = names[0] }));
    }

    public static TheoryData<string, string> BadAnswers => new()
    {
        { """{"op":"answer","id":999999,"answer":"x"}""", "not_found" },
        { """{"op":"answer","answer":"x"}""", "bad_request" },
        { """{"op":"answer","id":"1","answer":"x"}""", "bad_request" },
        { """{"op":"answer","id":1.5,"answer":"x"}""", "bad_request" },
        { """{"op":"answer","id":-1,"answer":"x"}""", "validation" },
    };

    [Theory]
    [MemberData(nameof(BadAnswers))]
    public async Task Bad_socket_answers_get_an_error_and_change_nothing(string line, string code)
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        var reply = await alice.CallRawAsync(line);
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(code, reply.Deserialize<Refusal>(HiveJson.Options)!.Code);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = @name OR target = @name OR answerer = @name", new { name }));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = @name OR recipient = @name", new { name }));
    }

    [Fact]
    public async Task Bad_operator_answers_get_problem_json_and_change_nothing()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
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
        var before = LastMessageId();
        foreach (var (url, body, status) in cases)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await _hive.Http.PostAsync(url, content);
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = @name AND answered_at IS NOT NULL", new { name }));
        // No answer reached the asker, nor anyone else (this test's answers are the only ones while it runs).
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @name OR id > @before", new { name, before }));
    }

    [Fact]
    public async Task Racing_answers_commit_exactly_once()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(names[0]);
        var id = await AskAsync(alice, "race?", names[1]);
        var bobs = new List<AgentClient>();
        for (var i = 0; i < 8; i++) bobs.Add(await _hive.ConnectAsync(names[1]));
        var replies = await Task.WhenAll(bobs.Select((b, i) => b.CallAsync(new { op = "answer", id, answer = $"answer {i}" })));
        foreach (var b in bobs) await b.DisposeAsync();
        Assert.Equal(1, replies.Count(r => r.GetProperty("ok").GetBoolean()));
        Assert.All(replies.Where(r => !r.GetProperty("ok").GetBoolean()), r => Assert.Equal("conflict", r.GetProperty("code").GetString()));
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE kind = 'answer' AND recipient = @alice", new { alice = names[0] }));
    }

    private long LastMessageId() => _hive.QueryDb<long>("SELECT coalesce(max(id), 0) FROM messages");
}
