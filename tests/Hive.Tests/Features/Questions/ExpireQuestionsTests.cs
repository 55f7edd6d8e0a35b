using Hive.Contracts.Questions;

namespace Hive.Tests.Features.Questions;

/// <summary>
/// ExpireQuestions: a question past its <c>ttl_seconds</c> resolves once with <c>[expired]</c> by <c>ttl</c>, the asker
/// told as for any answer; an answer racing the sweep still makes exactly one resolution; a deadline that passed while
/// the host was down is kept at start-up. A hive of its own: a fast sweep.
/// </summary>
public sealed class ExpireQuestionsTests(ExpireQuestionsTests.Fixture fixture) : SharedHiveTests(fixture), IClassFixture<ExpireQuestionsTests.Fixture>
{
    public sealed class Fixture : HiveFixture
    {
        protected override string[] Args => ["--Hive:Questions:TickSeconds", "0.2"];
    }

    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_one_second_question_expires_and_the_asker_is_told()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync(name);
        var id = await QuestionsHive.AskAsync(alice, "anyone?", extra: new { ttl_seconds = 1 });

        var added = await events.WaitForPayloadAsync<QuestionView>("question_added", e => e.Id == id);
        var expiresAt = added.ExpiresAt!.Value;
        Assert.Equal(TimeSpan.FromSeconds(1), expiresAt - added.AskedAt);

        var resolved = await events.WaitForAsync("question_resolved", e => e.GetProperty("id").GetInt64() == id, TimeSpan.FromSeconds(10));
        var question = resolved.Payload<QuestionView>();
        Assert.Equal("[expired]", question.Answer);
        Assert.Equal("ttl", question.Answerer);
        Assert.True(question.AnsweredAt!.Value >= expiresAt);
        // Present and null, raw; the event's additions (waiting_on) are read raw too: its record cannot be read back.
        Assert.Equal(JsonValueKind.Null, resolved.Json.GetProperty("waiting_on").ValueKind);

        var message = (await alice.RecvMessageAsync(waitMs: 5_000))!;
        Assert.Equal("answer", message.Kind);
        Assert.Equal("[expired]", message.Body);
        // The answerer and the question's id are extra fields of the system message (no record names them).
        Assert.Equal("ttl", message.Extra!["answerer"].GetString());
        Assert.Equal(id, message.Extra["question_id"].GetInt64());

        // Resolved is resolved: a late answer is a conflict and tells no one.
        using var late = await _hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = "sorry, was away" });
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @name AND kind = 'answer'", new { name }));
    }

    [Fact]
    public async Task A_question_answered_in_time_does_not_expire()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(names[0]);
        await using var bob = await _hive.ConnectAsync(names[1]);
        var id = await QuestionsHive.AskAsync(alice, "quick?", names[1], new { ttl_seconds = 5 }); // answered well before it
        await bob.CallAsync(QuestionVerbs.Answer, new AnswerArgs(id, "yes"));
        var expiresAt = _hive.QueryDb<DateTimeOffset>("SELECT expires_at FROM questions WHERE id = @id", new { id });
        // Let two whole sweeps begin after the deadline (counted, not slept), then the answer must still be the only one.
        await HiveInstance.Until(() => DateTimeOffset.UtcNow > expiresAt, what: "the deadline to pass");
        var ticks = CompletedSweeps();
        await HiveInstance.Until(() => CompletedSweeps() >= ticks + 2, what: "two sweeps after the deadline");
        Assert.Equal("yes", _hive.QueryDb<string>("SELECT answer FROM questions WHERE id = @id", new { id }));
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @alice AND kind = 'answer'", new { alice = names[0] }));
    }

    [Fact]
    public async Task Answers_racing_the_expiry_resolve_each_question_exactly_once()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(names[0]);
        await using var bob = await _hive.ConnectAsync(names[1]);
        var ids = new List<long>();
        for (var i = 0; i < 20; i++) ids.Add(await QuestionsHive.AskAsync(alice, $"race {i}?", names[1], new { ttl_seconds = 1 }));
        var expiresAt = _hive.QueryDb<DateTimeOffset>("SELECT min(expires_at) FROM questions WHERE asker = @alice", new { alice = names[0] });
        await HiveInstance.Until(() => DateTimeOffset.UtcNow >= expiresAt - TimeSpan.FromMilliseconds(100), what: "the deadline's approach");

        // Bob answers each as the sweep comes by: each answer either wins or is a conflict, never both resolutions.
        var replies = new List<JsonElement>();
        foreach (var id in ids) replies.Add(await bob.CallAsync(new { op = "answer", id, answer = "in time?" }));
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = @alice AND answered_at IS NULL",
            new { alice = names[0] }) == 0, what: "every question resolved");

        Assert.All(replies.Where(r => !r.GetProperty("ok").GetBoolean()), r => Assert.Equal("conflict", r.GetProperty("code").GetString()));
        var won = replies.Count(r => r.GetProperty("ok").GetBoolean());
        Assert.Equal(won, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = @alice AND answerer = @bob", new { alice = names[0], bob = names[1] }));
        Assert.Equal(ids.Count - won, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = @alice AND answerer = 'ttl'", new { alice = names[0] }));
        Assert.Equal(ids.Count, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @alice AND kind = 'answer'", new { alice = names[0] }));
        Assert.Equal(ids.Count, _hive.QueryDb<long>(
            "SELECT count(DISTINCT json_extract(meta, '$.question_id')) FROM messages WHERE recipient = @alice AND kind = 'answer'", new { alice = names[0] }));
    }

    [Fact]
    public async Task A_deadline_that_passed_while_the_host_was_down_is_kept_at_start_up()
    {
        // A hive of its own whose sweep runs only at start-up (the next tick is an hour away), restarted below.
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Questions:TickSeconds", "3600");
        await using (var alice = await hive.ConnectAsync("alice"))
        {
            var id = await QuestionsHive.AskAsync(alice, "still there after a restart?", extra: new { ttl_seconds = 1 });
            var expiresAt = hive.QueryDb<DateTimeOffset>("SELECT expires_at FROM questions WHERE id = @id", new { id });
            await HiveInstance.Until(() => DateTimeOffset.UtcNow > expiresAt, what: "the deadline to pass");
            Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM questions WHERE answered_at IS NOT NULL"));
        }
        await hive.RestartAsync();
        await HiveInstance.Until(() => hive.QueryDb<long>("SELECT count(*) FROM questions WHERE answerer = 'ttl'") == 1, what: "the start-up sweep");
        await using var again = await hive.ConnectAsync("alice");
        Assert.Equal("[expired]", (await again.RecvMessageAsync(waitMs: 5_000))!.Body);
        hive.AssertTokenInNoLogLine();
    }

    private long CompletedSweeps() => _hive.Service<Hive.Features.Questions.QuestionExpiry>().CompletedTicks;
}
