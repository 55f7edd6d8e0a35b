namespace Hive.Tests.Features.Questions;

/// <summary>AskQuestion's options and multi: carried on every view, answered with one or several options or free text; bad ones change nothing.</summary>
[Collection(QuestionsHive.Name)]
public sealed class QuestionOptionsTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    [Fact]
    public async Task A_multi_question_carries_its_options_everywhere_and_several_chosen_options_reach_the_asker()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync(name);
        var ask = await alice.CallAsync(new { op = "ask", question = "which regions?", options = new[] { "eu", "us", "asia" }, multi = true });
        Assert.True(ask.GetProperty("ok").GetBoolean(), ask.ToString());
        var id = ask.GetProperty("id").GetInt64();

        var added = await events.WaitForAsync("question_added", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(["eu", "us", "asia"], Strings(added.Json.GetProperty("options")));
        Assert.True(added.Json.GetProperty("multi").GetBoolean());
        Assert.Equal(JsonValueKind.Null, added.Json.GetProperty("expires_at").ValueKind);
        var listed = (await _hive.GetJsonAsync($"/api/questions?filter={name}")).GetProperty("pending").EnumerateArray().Single();
        Assert.Equal(["eu", "us", "asia"], Strings(listed.GetProperty("options")));
        Assert.True(listed.GetProperty("multi").GetBoolean());
        var snapshot = (await _hive.GetJsonAsync("/api/state")).GetProperty("questions").GetProperty("pending").EnumerateArray()
            .Single(q => q.GetProperty("id").GetInt64() == id);
        Assert.Equal(["eu", "us", "asia"], Strings(snapshot.GetProperty("options")));

        // The page joins chosen options with ", "; the host stores the answer as given.
        using var response = await _hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = "eu, asia" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = (await alice.RecvAsync(waitMs: 5_000))!.Value;
        Assert.Equal("answer", message.GetProperty("kind").GetString());
        Assert.Equal("eu, asia", message.GetProperty("body").GetString());
        var resolved = await events.WaitForAsync("question_resolved", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(["eu", "us", "asia"], Strings(resolved.Json.GetProperty("options")));
        Assert.Equal("eu, asia", resolved.Json.GetProperty("answer").GetString());
    }

    [Fact]
    public async Task Options_are_advisory_a_peer_answers_one_or_free_text()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await using var alice = await _hive.ConnectAsync(names[0]);
        await using var bob = await _hive.ConnectAsync(names[1]);
        var single = await QuestionsHive.AskAsync(alice, "rebase or merge?", names[1], new { options = new[] { "rebase", "merge" } });
        var free = await QuestionsHive.AskAsync(alice, "tabs or spaces?", names[1], new { options = new[] { "tabs", "spaces" } });
        var view = (await _hive.GetJsonAsync($"/api/questions?filter={names[0]}")).GetProperty("pending").EnumerateArray()
            .Single(q => q.GetProperty("id").GetInt64() == single);
        Assert.False(view.GetProperty("multi").GetBoolean());

        AgentClient.Ok(await bob.CallAsync(new { op = "answer", id = single, answer = "merge" }));
        AgentClient.Ok(await bob.CallAsync(new { op = "answer", id = free, answer = "whatever the formatter says" }));
        Assert.Equal("merge", (await alice.RecvAndAckAsync(5_000))!.Value.GetProperty("body").GetString());
        Assert.Equal("whatever the formatter says", (await alice.RecvAndAckAsync(5_000))!.Value.GetProperty("body").GetString());
    }

    [Fact]
    public async Task A_question_without_options_has_an_empty_list_and_no_deadline()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        var id = await QuestionsHive.AskAsync(alice, "plain?");
        var view = (await _hive.GetJsonAsync($"/api/questions?filter={name}")).GetProperty("pending").EnumerateArray().Single();
        Assert.Equal(id, view.GetProperty("id").GetInt64());
        Assert.Empty(Strings(view.GetProperty("options")));
        Assert.False(view.GetProperty("multi").GetBoolean());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("expires_at").ValueKind);
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
        Assert.False(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = @name", new { name }));
    }

    [Fact]
    public async Task The_longest_allowed_options_and_deadline_are_accepted()
    {
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        var options = Enumerable.Range(0, 16).Select(i => $"{i}" + new string('o', 199 - $"{i}".Length)).ToArray();
        var id = await QuestionsHive.AskAsync(alice, "the limits?", extra: new { options, ttl_seconds = 21600 });
        var view = (await _hive.GetJsonAsync($"/api/questions?filter={name}")).GetProperty("pending").EnumerateArray().Single();
        Assert.Equal(id, view.GetProperty("id").GetInt64());
        Assert.Equal(options, Strings(view.GetProperty("options")));
        var left = view.GetProperty("expires_at").GetDateTimeOffset() - DateTimeOffset.UtcNow;
        Assert.InRange(left, TimeSpan.FromHours(6) - TimeSpan.FromMinutes(1), TimeSpan.FromHours(6));
    }
}
