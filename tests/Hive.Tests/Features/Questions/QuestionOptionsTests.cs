using Hive.Contracts.Json;
using Hive.Contracts.Questions;
using Hive.Features.Questions;

namespace Hive.Tests.Features.Questions;

/// <summary>AskQuestion's options and multi: carried on every view, answered with one or several options or free text; bad ones change nothing.</summary>
[Collection(QuestionsHive.Name)]
public sealed class QuestionOptionsTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    private async Task<QuestionView> PendingOfAsync(string asker, long? id = null) =>
        (await _hive.GetAsync<ListQuestions.Result>($"/api/questions?filter={asker}")).Pending.Single(q => id is null || q.Id == id);

    [Fact]
    public async Task A_multi_question_carries_its_options_everywhere_and_several_chosen_options_reach_the_asker()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync(name);
        var id = (await alice.CallAsync(QuestionVerbs.Ask, new AskArgs("which regions?", null, ["eu", "us", "asia"], true, null))).Id;

        var added = await events.WaitForAsync("question_added", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(["eu", "us", "asia"], added.Payload<QuestionView>().Options);
        Assert.True(added.Payload<QuestionView>().Multi);
        Assert.Equal(JsonValueKind.Null, added.Json.GetProperty("expires_at").ValueKind); // present and null, raw
        var listed = await PendingOfAsync(name);
        Assert.Equal(["eu", "us", "asia"], listed.Options);
        Assert.True(listed.Multi);
        // The snapshot has no record of its own; its questions are the list's record.
        var snapshot = (await _hive.GetJsonAsync("/api/state")).GetProperty("questions").Deserialize<ListQuestions.Result>(HiveJson.Options)!
            .Pending.Single(q => q.Id == id);
        Assert.Equal(["eu", "us", "asia"], snapshot.Options);

        // The page joins chosen options with ", "; the host stores the answer as given.
        using var response = await _hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = "eu, asia" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = (await alice.RecvMessageAsync(waitMs: 5_000))!;
        Assert.Equal("answer", message.Kind);
        Assert.Equal("eu, asia", message.Body);
        var resolved = await events.WaitForPayloadAsync<QuestionView>("question_resolved", e => e.Id == id);
        Assert.Equal(["eu", "us", "asia"], resolved.Options);
        Assert.Equal("eu, asia", resolved.Answer);
    }

    [Fact]
    public async Task Options_are_advisory_a_peer_answers_one_or_free_text()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(names[0]);
        await using var bob = await _hive.ConnectAsync(names[1]);
        var single = await QuestionsHive.AskAsync(alice, "rebase or merge?", names[1], new { options = new[] { "rebase", "merge" } });
        var free = await QuestionsHive.AskAsync(alice, "tabs or spaces?", names[1], new { options = new[] { "tabs", "spaces" } });
        var view = await PendingOfAsync(names[0], single);
        Assert.False(view.Multi);

        await bob.CallAsync(QuestionVerbs.Answer, new AnswerArgs(single, "merge"));
        await bob.CallAsync(QuestionVerbs.Answer, new AnswerArgs(free, "whatever the formatter says"));
        Assert.Equal("merge", (await alice.RecvAndAckMessageAsync(5_000))!.Body);
        Assert.Equal("whatever the formatter says", (await alice.RecvAndAckMessageAsync(5_000))!.Body);
    }

    [Fact]
    public async Task A_question_without_options_has_an_empty_list_and_no_deadline()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        var id = await QuestionsHive.AskAsync(alice, "plain?");
        var raw = (await _hive.GetJsonAsync($"/api/questions?filter={name}")).GetProperty("pending").EnumerateArray().Single();
        var view = raw.Deserialize<QuestionView>(HiveJson.Options)!;
        Assert.Equal(id, view.Id);
        Assert.Empty(view.Options);
        Assert.False(view.Multi);
        Assert.Equal(JsonValueKind.Null, raw.GetProperty("expires_at").ValueKind); // present and null, raw
    }

    public static TheoryData<string, string> BadAsks => new()
    {
        { """{"op":"ask","question":"q","options":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]}""", "validation" },
        { """{"op":"ask","question":"q","options":["a",""]}""", "validation" },
        { """{"op":"ask","question":"q","options":["a","LONG"]}""", "validation" },
        { """{"op":"ask","question":"q","options":["a","b","a"]}""", "validation" },
        { """{"op":"ask","question":"q","options":["a",null]}""", "validation" },
        { """{"op":"ask","question":"q","options":"a"}""", "bad_request" },
        { """{"op":"ask","question":"q","multi":true}""", "validation" },
        { """{"op":"ask","question":"q","options":[],"multi":true}""", "validation" },
        { """{"op":"ask","question":"q","ttl_seconds":0}""", "validation" },
        { """{"op":"ask","question":"q","ttl_seconds":-5}""", "validation" },
        { """{"op":"ask","question":"q","ttl_seconds":21601}""", "validation" },
        { """{"op":"ask","question":"q","ttl_seconds":1.5}""", "bad_request" },
    };

    [Theory]
    [MemberData(nameof(BadAsks))]
    public async Task Bad_options_or_deadlines_get_an_error_and_change_nothing(string line, string code)
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        var reply = await alice.CallRawAsync(line.Replace("LONG", new string('o', 201)));
        Assert.False(reply.GetProperty("ok").GetBoolean(), reply.ToString()); // a line no args record can write, so the reply raw
        Assert.Equal(code, reply.Deserialize<Refusal>(HiveJson.Options)!.Code);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = @name", new { name }));
    }

    [Fact]
    public async Task The_longest_allowed_options_and_deadline_are_accepted()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        var options = Enumerable.Range(0, 16).Select(i => $"{i}" + new string('o', 199 - $"{i}".Length)).ToArray();
        var id = await QuestionsHive.AskAsync(alice, "the limits?", extra: new { options, ttl_seconds = 21600 });
        var view = await PendingOfAsync(name);
        Assert.Equal(id, view.Id);
        Assert.Equal(options, view.Options);
        var left = view.ExpiresAt!.Value - DateTimeOffset.UtcNow;
        Assert.InRange(left, TimeSpan.FromHours(6) - TimeSpan.FromMinutes(1), TimeSpan.FromHours(6));
    }
}
