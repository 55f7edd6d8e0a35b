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
        var view = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("[cancelled]", view.GetProperty("answer").GetString());
        Assert.Equal("operator", view.GetProperty("answerer").GetString());

        var message = (await alice.RecvAsync(waitMs: 5_000))!.Value;
        Assert.Equal("answer", message.GetProperty("kind").GetString());
        Assert.Equal("operator", message.GetProperty("from").GetString());
        Assert.Equal("[cancelled]", message.GetProperty("body").GetString());
        Assert.Equal(id, message.GetProperty("question_id").GetInt64());
        var resolved = await events.WaitForAsync("question_resolved", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal("[cancelled]", resolved.Json.GetProperty("answer").GetString());
        Assert.Equal(JsonValueKind.Null, resolved.Json.GetProperty("waiting_on").ValueKind);

        var late = await bob.CallAsync(new { op = "answer", id, answer = "yes" });
        Assert.Equal("conflict", late.GetProperty("code").GetString());
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
