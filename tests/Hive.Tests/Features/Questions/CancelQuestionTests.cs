using Hive.Contracts.Json;
using Hive.Contracts.Questions;

namespace Hive.Tests.Features.Questions;

/// <summary>CancelQuestion: the operator cancels an open question (the asker is told <c>[cancelled]</c>); resolved is 409, unknown 404.</summary>
[Collection(QuestionsHive.Name)]
public sealed class CancelQuestionTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    private Task<HttpResponseMessage> CancelAsync(long id) => _hive.Http.PostAsync($"/api/questions/{id}/cancel", null);

    [Fact]
    public async Task The_operator_cancels_a_peer_question_and_the_asker_is_told()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync(names[0]);
        await using var bob = await _hive.ConnectAsync(names[1]);
        var id = await QuestionsHive.AskAsync(alice, "bob, ship it?", names[1], new { options = new[] { "yes", "no" }, ttl_seconds = 3600 });

        using var response = await CancelAsync(id);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var view = await response.Content.ReadFromJsonAsync<QuestionView>(HiveJson.Options);
        Assert.Equal("[cancelled]", view!.Answer);
        Assert.Equal("operator", view.Answerer);

        var message = (await alice.RecvMessageAsync(waitMs: 5_000))!;
        Assert.Equal("answer", message.Kind);
        Assert.Equal("operator", message.From);
        Assert.Equal("[cancelled]", message.Body);
        Assert.Equal(id, message.Extra!["question_id"].GetInt64()); // an extra field of the system message (no record names it)
        var resolved = await events.WaitForAsync("question_resolved", e => e.Deserialize<QuestionView>(HiveJson.Options)!.Id == id);
        Assert.Equal("[cancelled]", resolved.Payload<QuestionView>().Answer);
        Assert.Equal(JsonValueKind.Null, resolved.Json.GetProperty("waiting_on").ValueKind); // present and null: raw

        var late = await bob.RefusalOfAsync(QuestionVerbs.Answer, new AnswerArgs(id, "yes"));
        Assert.Equal("conflict", late.Code);
    }

    [Fact]
    public async Task Cancelling_a_resolved_question_is_409_and_an_unknown_one_404_and_neither_tells_anyone()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        var id = await QuestionsHive.AskAsync(alice, "done already?");
        using (var answered = await _hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = "yes" }))
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);

        using var twice = await CancelAsync(id);
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        Assert.Equal("application/problem+json", twice.Content.Headers.ContentType?.MediaType);
        using var unknown = await CancelAsync(999_999_999);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        Assert.Equal("yes", _hive.QueryDb<string>("SELECT answer FROM questions WHERE id = @id", new { id }));
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = @name AND kind = 'answer'", new { name }));
    }
}
