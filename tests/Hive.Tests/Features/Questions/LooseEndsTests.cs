namespace Hive.Tests.Features.Questions;

/// <summary>
/// <c>loose_ends</c> lists exactly the calling agent's open threads (questions it asked, questions
/// waiting for its answer, its pending reminders), and <c>cancel_loose_end</c> cancels one of its own: anything else
/// is forbidden or not_found, and changes nothing. A hive of its own (it counts every open thread there is).
/// </summary>
public sealed class LooseEndsTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob", "carol"]);

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private static async Task<long> Ask(AgentClient asker, string? to, string question) =>
        AgentClient.Ok(await asker.CallAsync(to is null ? new { op = "ask", question } : (object)new { op = "ask", to, question })).GetProperty("id").GetInt64();

    private static async Task<long> Remind(AgentClient agent, string body) =>
        AgentClient.Ok(await agent.CallAsync(new { op = "remind", body, in_seconds = 3600 })).GetProperty("id").GetInt64();

    private static async Task<List<(string Kind, long Id, string? With, string? Cancel)>> LooseEndsAsync(AgentClient agent) =>
        AgentClient.Ok(await agent.CallAsync(new { op = "loose_ends" })).GetProperty("loose_ends").EnumerateArray()
            .Select(e => (e.GetProperty("kind").GetString()!, e.GetProperty("id").GetInt64(), e.GetProperty("with").GetString(), e.GetProperty("cancel").GetString()))
            .ToList();

    private string Snapshot() =>
        string.Join("|", _hive.QueryDbList<string>("SELECT id || ':' || coalesce(answer, '-') FROM questions ORDER BY id"))
        + "#" + string.Join("|", _hive.QueryDbList<long>("SELECT id FROM reminders ORDER BY id"));

    [Fact]
    public async Task An_agent_sees_exactly_its_own_open_threads_and_cancels_only_its_own()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        await using var carol = await _hive.ConnectAsync("carol");
        var askedBob = await Ask(alice, "bob", "lunch?");
        var askedOperator = await Ask(alice, null, "may I deploy?");
        var fromBob = await Ask(bob, "alice", "review my patch?");
        var notHers = await Ask(carol, "bob", "coffee?");
        var answered = await Ask(bob, "alice", "done yet?");
        AgentClient.Ok(await alice.CallAsync(new { op = "answer", id = answered, answer = "yes" }));
        var reminder = await Remind(alice, "check the build");
        var bobsReminder = await Remind(bob, "bob's own");

        var ends = await LooseEndsAsync(alice);
        Assert.Equal(
            [("asked", askedBob, "bob", "question"), ("asked", askedOperator, "operator", "question"), ("reminder", reminder, null, "reminder"), ("to_answer", fromBob, "bob", null)],
            ends.OrderBy(e => e.Kind).ThenBy(e => e.Id).Select(e => (e.Kind, e.Id, e.With, e.Cancel)).ToList());
        Assert.DoesNotContain(ends, e => (e.Kind != "reminder" && (e.Id == notHers || e.Id == answered)) || (e.Kind == "reminder" && e.Id == bobsReminder));
        var row = (await _hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == "alice");
        Assert.Equal(3, row.GetProperty("open_questions").GetInt64());
        Assert.Equal(1, row.GetProperty("pending_reminders").GetInt64());

        // Someone else's, or nothing at all: refused, and nothing changes.
        var before = Snapshot();
        foreach (var (request, code) in new (object, string)[]
                 {
                     (new { op = "cancel_loose_end", kind = "question", id = fromBob }, "forbidden"), // addressed to her, not hers
                     (new { op = "cancel_loose_end", kind = "question", id = notHers }, "forbidden"),
                     (new { op = "cancel_loose_end", kind = "reminder", id = bobsReminder }, "forbidden"),
                     (new { op = "cancel_loose_end", kind = "reminder", id = 999_999 }, "not_found"),
                     (new { op = "cancel_loose_end", kind = "question", id = 999_999 }, "not_found"),
                     (new { op = "cancel_loose_end", kind = "message", id = askedBob }, "bad_request"),
                     (new { op = "cancel_loose_end", kind = "question" }, "bad_request"),
                 })
        {
            var reply = await alice.CallAsync(request);
            Assert.False(reply.GetProperty("ok").GetBoolean(), reply.ToString());
            Assert.Equal(code, reply.GetProperty("code").GetString());
        }
        Assert.Equal(before, Snapshot());

        await using var events = await _hive.OpenEventsAsync();
        AgentClient.Ok(await alice.CallAsync(new { op = "cancel_loose_end", kind = "question", id = askedBob }));
        AgentClient.Ok(await alice.CallAsync(new { op = "cancel_loose_end", kind = "reminder", id = reminder }));

        Assert.Equal([("asked", askedOperator), ("to_answer", fromBob)], (await LooseEndsAsync(alice)).Select(e => (e.Kind, e.Id)).Order());
        Assert.DoesNotContain(await LooseEndsAsync(bob), e => e.Kind == "to_answer" && e.Id == askedBob); // no longer waiting for bob's answer
        var resolved = await events.WaitForAsync("question_resolved", e => e.GetProperty("id").GetInt64() == askedBob);
        Assert.Equal("[cancelled]", resolved.Json.GetProperty("answer").GetString());
        Assert.Equal("alice", resolved.Json.GetProperty("answerer").GetString());
        Assert.Equal(2, resolved.Json.GetProperty("asker_open_questions").GetInt64());
        Assert.Equal(2, resolved.Json.GetProperty("target_open_questions").GetInt64()); // bob: the one he asked alice, carol's to him
        Assert.Null(await alice.RecvAsync()); // she cancelled it herself: no "answer" message to her
        await events.WaitForAsync("reminder_cancelled", e => e.GetProperty("id").GetInt64() == reminder);
    }
}
