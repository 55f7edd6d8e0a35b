using Hive.Contracts.LooseEnds;
using Hive.Contracts.Protocol;
using Hive.Contracts.Questions;
using Hive.Contracts.Reminders;

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
        (await asker.CallAsync(QuestionVerbs.Ask, new AskArgs(question, to, null, null, null))).Id;

    private static async Task<long> Remind(AgentClient agent, string body) =>
        (await agent.CallAsync(ReminderVerbs.Remind, new RemindArgs(body, 3600, null, null, null, null, null, null))).Id;

    private static async Task<List<(string Kind, long Id, string? With, string? Cancel)>> LooseEndsAsync(AgentClient agent) =>
        (await agent.CallAsync(LooseEndVerbs.LooseEnds, new NoArgs())).LooseEnds.Select(e => (e.Kind, e.Id, e.With, e.Cancel)).ToList();

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
        await alice.CallAsync(QuestionVerbs.Answer, new AnswerArgs(answered, "yes"));
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
        foreach (var (request, code) in new (CancelLooseEndArgs, string)[]
                 {
                     (new("question", fromBob), "forbidden"), // addressed to her, not hers
                     (new("question", notHers), "forbidden"),
                     (new("reminder", bobsReminder), "forbidden"),
                     (new("reminder", 999_999), "not_found"),
                     (new("question", 999_999), "not_found"),
                     (new("message", askedBob), "bad_request"),
                     (new("question", null), "bad_request"),
                 })
            Assert.Equal(code, (await alice.RefusalOfAsync(LooseEndVerbs.CancelLooseEnd, request)).Code);
        Assert.Equal(before, Snapshot());

        await using var events = await _hive.OpenEventsAsync();
        await alice.CallAsync(LooseEndVerbs.CancelLooseEnd, new CancelLooseEndArgs("question", askedBob));
        await alice.CallAsync(LooseEndVerbs.CancelLooseEnd, new CancelLooseEndArgs("reminder", reminder));

        Assert.Equal([("asked", askedOperator), ("to_answer", fromBob)], (await LooseEndsAsync(alice)).Select(e => (e.Kind, e.Id)).Order());
        Assert.DoesNotContain(await LooseEndsAsync(bob), e => e.Kind == "to_answer" && e.Id == askedBob); // no longer waiting for bob's answer
        var resolved = await events.WaitForAsync("question_resolved", e => e.GetProperty("id").GetInt64() == askedBob);
        Assert.Equal("[cancelled]", resolved.Payload<QuestionView>().Answer);
        Assert.Equal("alice", resolved.Payload<QuestionView>().Answerer);
        // The event's additions, raw: its record is built from the question and the open counts and cannot be read back.
        Assert.Equal(2, resolved.Json.GetProperty("asker_open_questions").GetInt64());
        Assert.Equal(2, resolved.Json.GetProperty("target_open_questions").GetInt64()); // bob: the one he asked alice, carol's to him
        Assert.Null(await alice.RecvAsync()); // she cancelled it herself: no "answer" message to her
        await events.WaitForPayloadAsync<ReminderCancelledPayload>("reminder_cancelled", e => e.Id == reminder);
    }
}
