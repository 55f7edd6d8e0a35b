using Hive.Contracts.Json;
using Hive.Contracts.LooseEnds;
using Hive.Contracts.Messages;
using Hive.Contracts.Reminders;
using Hive.Features.Questions;

namespace Hive.Tests.Cli;

/// <summary>The agent's commands (socket verbs) through the built hivectl, against a real hive; each test has agents of its own.</summary>
public sealed class AgentCommandsTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private bool Delivered(long id) => _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @id AND delivered_at IS NOT NULL", new { id }) == 1;

    [Fact]
    public async Task Whoami_names_the_agent_whose_socket_it_is()
    {
        var run = (await fixture.AgentAsync("alice", "whoami", "--json")).Ok();
        Assert.True(run.Json.GetProperty("ok").GetBoolean()); // the reply's envelope, raw: the record is what it carries besides ok
        Assert.Equal("alice", run.JsonAs<WhoamiReply>().Name);
        Assert.Equal("bob", (await fixture.AgentAsync("bob", "whoami")).Ok().Stdout.Trim());

        // $HIVE_SOCKET is the default socket, as in every agent the hive runs.
        var viaEnv = await Hivectl.RunAsync(["whoami"], new Dictionary<string, string> { ["HIVE_SOCKET"] = _hive.SocketPath("alice") });
        Assert.Equal("alice", viaEnv.Ok().Stdout.Trim());
    }

    [Fact]
    public async Task Send_then_recv_hands_the_message_over_and_acknowledges_it()
    {
        var (a, b) = (await _hive.NewAgentAsync("a"), await _hive.NewAgentAsync("b"));
        var sent = (await fixture.AgentAsync(a, "send", b, "hello from the cli", "--json")).Ok().JsonAs<SendReply>();
        var id = sent.Id;

        var received = (await fixture.AgentAsync(b, "recv", "--wait", "5", "--json")).Ok().JsonAs<RecvOneReply>();
        var message = received.Message!;
        Assert.Equal(id, message.Id);
        Assert.Equal(a, message.From);
        Assert.Equal("hello from the cli", message.Body);
        Assert.True(Delivered(id)); // recv acknowledged it

        // Nothing more: recv without a wait answers at once with no message, exit 0.
        var empty = (await fixture.AgentAsync(b, "recv", "--json")).Ok().Json;
        Assert.Equal(JsonValueKind.Null, empty.GetProperty("message").ValueKind); // present and null, raw: a record cannot tell it from absent
        Assert.Equal("no message", (await fixture.AgentAsync(b, "recv")).Ok().Stdout.Trim());

        // The human form of send and recv.
        Assert.Matches(@"^sent #\d+$", (await fixture.AgentAsync(a, "send", b, "second")).Ok().Stdout.Trim());
        Assert.Contains($"{a} → {b}: second", (await fixture.AgentAsync(b, "recv", "--wait", "5")).Ok().Stdout);
    }

    [Fact]
    public async Task Recv_no_ack_leaves_the_message_in_flight_until_ack()
    {
        var (a, b) = (await _hive.NewAgentAsync("a"), await _hive.NewAgentAsync("b"));
        var id = (await fixture.AgentAsync(a, "send", b, "ack me", "--json")).Ok().JsonAs<SendReply>().Id;

        var first = (await fixture.AgentAsync(b, "recv", "--wait", "5", "--no-ack", "--json")).Ok().JsonAs<RecvOneReply>().Message!;
        Assert.Equal(id, first.Id);
        Assert.False(Delivered(id));

        // Unacknowledged, it comes back after the ack timeout, flagged.
        var again = (await fixture.AgentAsync(b, "recv", "--wait", "10", "--no-ack", "--json")).Ok().Json.GetProperty("message");
        Assert.Equal(id, again.Deserialize<MessageView>(HiveJson.Options)!.Id);
        Assert.True(again.GetProperty("redelivered").GetBoolean()); // the wire's flag, raw: the record computes it

        var ack = (await fixture.AgentAsync(b, "ack", id.ToString(), "--json")).Ok().Json;
        Assert.True(ack.GetProperty("ok").GetBoolean()); // ack answers only the envelope (no record)
        Assert.True(Delivered(id));
        Assert.Equal($"acknowledged #{id}", (await fixture.AgentAsync(b, "ack", id.ToString())).Ok().Stdout.Trim()); // idempotent
    }

    [Fact]
    public async Task Recv_max_takes_several_and_acknowledges_all()
    {
        var (a, b) = (await _hive.NewAgentAsync("a"), await _hive.NewAgentAsync("b"));
        for (var i = 0; i < 3; i++) (await fixture.AgentAsync(a, "send", b, $"m{i}")).Ok();
        var messages = (await fixture.AgentAsync(b, "recv", "--max", "5", "--wait", "5", "--json")).Ok().JsonAs<RecvManyReply>().Messages;
        Assert.Equal(["m0", "m1", "m2"], messages.Select(m => m.Body));
        Assert.All(messages, m => Assert.True(Delivered(m.Id)));
    }

    [Fact]
    public async Task Remind_schedules_in_seconds_or_at_a_time()
    {
        var a = await _hive.NewAgentAsync("a");
        var byDelay = (await fixture.AgentAsync(a, "remind", "look again", "--in", "3600", "--json")).Ok().JsonAs<RemindReply>().Id;
        var at = DateTimeOffset.UtcNow.AddHours(2).ToString("yyyy-MM-ddTHH:mm:ssZ");
        var byTime = (await fixture.AgentAsync(a, "remind", "at a time", "--at", at, "--json")).Ok().JsonAs<RemindReply>().Id;
        var rows = _hive.QueryDbList<long>("SELECT id FROM reminders WHERE agent = @a ORDER BY id", new { a });
        Assert.Equal([byDelay, byTime], rows);

        (await fixture.AgentAsync(a, "remind", "no time")).Usage();
        (await fixture.AgentAsync(a, "remind", "both", "--in", "5", "--at", at)).Usage();
        (await fixture.AgentAsync(a, "remind", "bad", "--at", "tomorrow-ish")).Usage();
        (await fixture.AgentAsync(a, "remind", "negative", "--in", "-5", "--json")).Refused("validation");
    }

    [Fact]
    public async Task Remind_with_cron_sets_up_a_recurring_reminder()
    {
        var a = await _hive.NewAgentAsync("a");
        var reply = (await fixture.AgentAsync(a, "remind", "stand-up", "--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin", "--catch-up", "one", "--json")).Ok()
            .JsonAs<RemindReply>();
        Assert.True(reply.Recurring);
        Assert.Equal(3, reply.NextRuns!.Count);
        Assert.Equal(("0 9 * * 1-5", "Europe/Berlin", "one"), _hive.QueryDb<(string, string, string)>(
            "SELECT cron, time_zone, catch_up FROM recurring_reminders WHERE id = @id", new { id = reply.Id }));

        (await fixture.AgentAsync(a, "remind", "both", "--in", "5", "--cron", "* * * * *")).Usage();
        (await fixture.AgentAsync(a, "remind", "zone alone", "--in", "5", "--tz", "UTC")).Usage();
        (await fixture.AgentAsync(a, "remind", "bad", "--cron", "every day", "--json")).Refused("validation");
    }

    [Fact]
    public async Task Ask_a_peer_and_the_peer_answers()
    {
        var (a, b) = (await _hive.NewAgentAsync("a"), await _hive.NewAgentAsync("b"));
        var id = (await fixture.AgentAsync(a, "ask", "2+2?", "--to", b, "--json")).Ok().JsonAs<IdReply>().Id;
        (await fixture.AgentAsync(b, "answer", id.ToString(), "4", "--json")).Ok();

        var answer = (await fixture.AgentAsync(a, "recv", "--wait", "5", "--json")).Ok().JsonAs<RecvOneReply>().Message!;
        Assert.Equal("answer", answer.Kind);
        Assert.Equal(id, answer.Extra!["question_id"].GetInt64()); // an extra field of the system message (no record names it)
        Assert.Equal("4", answer.Body);

        (await fixture.AgentAsync(b, "answer", id.ToString(), "again", "--json")).Refused("conflict");
    }

    [Fact]
    public async Task Ask_takes_every_field_of_the_verbs_arguments_the_fields_it_has_no_option_of_its_own_for_come_from_the_contract()
    {
        var a = await _hive.NewAgentAsync("a");
        var help = await Hivectl.RunAsync(["ask", "--help"]);
        Assert.Contains("--multi", help.Stdout);
        Assert.Contains("several options may be chosen", help.Stdout); // the contract's description

        var id = (await fixture.AgentAsync(a, "ask", "which regions?", "--option", "eu", "--option", "us", "--multi", "--json")).Ok().JsonAs<IdReply>().Id;
        var asked = (await _hive.GetAsync<ListQuestions.Result>($"/api/questions?filter={a}")).Pending.Single(q => q.Id == id);
        Assert.True(asked.Multi);
    }

    [Fact]
    public async Task Ask_wait_returns_the_answer_and_leaves_other_messages_to_be_redelivered()
    {
        var (a, b) = (await _hive.NewAgentAsync("a"), await _hive.NewAgentAsync("b"));
        await using var asking = Hivectl.Start(["ask", "ship it?", "--to", b, "--wait", "20", "--json", "--socket", _hive.SocketPath(a)]);

        // The question shows up; meanwhile a message that is not the answer reaches the asker.
        long questionId = 0;
        await HiveInstance.Until(() => (questionId = _hive.QueryDbList<long>("SELECT id FROM questions WHERE asker = @a", new { a }).FirstOrDefault()) > 0,
            TimeSpan.FromSeconds(15), "the question");
        var other = (await fixture.AgentAsync(b, "send", a, "unrelated", "--json")).Ok().JsonAs<SendReply>().Id;
        // ask --wait hands it out (and leaves it unacknowledged) before the answer comes.
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT delivery_count FROM messages WHERE id = @other", new { other }) > 0,
            TimeSpan.FromSeconds(15), "the unrelated message to be handed out");
        (await fixture.AgentAsync(b, "answer", questionId.ToString(), "yes")).Ok();

        var result = await asking.WaitForExitAsync(TimeSpan.FromSeconds(25));
        Assert.True(result.ExitCode == 0, result.ToString());
        // ask --wait's document is hivectl's own (the id, the answer, the message): no record.
        Assert.Equal(questionId, result.Json.GetProperty("id").GetInt64());
        Assert.Equal("yes", result.Json.GetProperty("answer").GetString());

        // The other message was not acknowledged: it comes back, flagged. (Each of ask --wait's receives while it waited handed it
        // out again; on a machine slow enough that the answer took MaxDeliveries ack timeouts, it was set aside as undeliverable
        // instead, which is not an acknowledgement either.)
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @other AND delivered_at IS NOT NULL", new { other }));
        var redelivered = (await fixture.AgentAsync(a, "recv", "--wait", "10", "--json")).Ok().Json.GetProperty("message");
        if (redelivered.ValueKind == JsonValueKind.Null)
        {
            Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @other AND undeliverable_at IS NOT NULL", new { other }));
            return;
        }
        Assert.Equal(other, redelivered.Deserialize<MessageView>(HiveJson.Options)!.Id);
        Assert.True(redelivered.GetProperty("redelivered").GetBoolean()); // the wire's flag, raw: the record computes it
    }

    [Fact]
    public async Task Ask_wait_without_an_answer_fails_with_timeout_and_the_question_id()
    {
        var a = await _hive.NewAgentAsync("a");
        var run = (await fixture.AgentAsync(a, "ask", "anyone?", "--wait", "0.5", "--json")).Refused("timeout");
        Assert.True(run.Json.GetProperty("id").GetInt64() > 0); // the refusal's id is hivectl's own addition (no record)
    }

    [Fact]
    public async Task Loose_ends_lists_a_question_asked_and_a_reminder_and_cancel_loose_end_cancels_them()
    {
        var (a, b) = (await _hive.NewAgentAsync("a"), await _hive.NewAgentAsync("b"));
        var question = (await fixture.AgentAsync(a, "ask", "which branch?", "--to", b, "--json")).Ok().JsonAs<IdReply>().Id;
        var reminder = (await fixture.AgentAsync(a, "remind", "look again", "--in", "3600", "--json")).Ok().JsonAs<RemindReply>().Id;

        static List<(string?, long, string?, string?, string?)> Ends(HivectlResult run) =>
            run.JsonAs<LooseEndsReply>().LooseEnds
                .Select(e => ((string?)e.Kind, e.Id, (string?)e.Text, e.With, e.Cancel))
                .OrderBy(e => e.Item1).ToList();
        Assert.Equal([("asked", question, "which branch?", b, "question"), ("reminder", reminder, "look again", null, "reminder")],
            Ends((await fixture.AgentAsync(a, "loose-ends", "--json")).Ok()));
        // The one it was asked sees it as a question to answer, which is not its to cancel.
        Assert.Equal([("to_answer", question, "which branch?", a, null)], Ends((await fixture.AgentAsync(b, "loose-ends", "--json")).Ok()));

        var table = (await fixture.AgentAsync(a, "loose-ends")).Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("KIND", table[0]);
        Assert.Contains(table, l => l.StartsWith("asked", StringComparison.Ordinal) && l.Contains($" {question} ") && l.EndsWith("which branch?"));
        Assert.Contains(table, l => l.StartsWith("reminder", StringComparison.Ordinal) && l.Contains($" {reminder} ") && l.EndsWith("look again"));

        // Not b's to cancel, a kind the hive does not know, an id that is not a number: refused, nothing changed.
        (await fixture.AgentAsync(b, "cancel-loose-end", "reminder", reminder.ToString(), "--json")).Refused("forbidden");
        (await fixture.AgentAsync(b, "cancel-loose-end", "question", question.ToString())).Refused("forbidden");
        (await fixture.AgentAsync(a, "cancel-loose-end", "errand", "1", "--json")).Refused("bad_request");
        (await fixture.AgentAsync(a, "cancel-loose-end", "reminder", "soon")).Usage();
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE id = @reminder", new { reminder }));

        Assert.Equal($"cancelled reminder #{reminder}", (await fixture.AgentAsync(a, "cancel-loose-end", "reminder", reminder.ToString())).Ok().Stdout.Trim());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE id = @reminder", new { reminder }));
        Assert.True((await fixture.AgentAsync(a, "cancel-loose-end", "question", question.ToString(), "--json")).Ok().Json.GetProperty("ok").GetBoolean()); // only the envelope
        Assert.Equal("[cancelled]", _hive.QueryDb<string>("SELECT answer FROM questions WHERE id = @question", new { question }));

        Assert.Empty((await fixture.AgentAsync(a, "loose-ends", "--json")).Ok().JsonAs<LooseEndsReply>().LooseEnds);
        Assert.Equal("(none)", (await fixture.AgentAsync(b, "loose-ends")).Ok().Stdout.Trim());
        (await fixture.AgentAsync(a, "cancel-loose-end", "reminder", reminder.ToString(), "--json")).Refused("not_found");
    }

    [Fact]
    public async Task Request_next_turn_queues_one_next_turn_message_to_the_agent_itself()
    {
        var a = await _hive.NewAgentAsync("a");
        var first = (await fixture.AgentAsync(a, "request-next-turn", "--json")).Ok().JsonAs<NextTurnReply>();
        Assert.True(first.Queued);
        var id = first.Id;

        // Asked again while it waits: the same one, not a second.
        Assert.Equal($"a next turn was already waiting: #{id}", (await fixture.AgentAsync(a, "request-next-turn")).Ok().Stdout.Trim());
        var again = (await fixture.AgentAsync(a, "request-next-turn", "--json")).Ok().Json;
        Assert.Equal(id, again.Deserialize<NextTurnReply>(HiveJson.Options)!.Id);
        Assert.False(again.GetProperty("queued").GetBoolean()); // raw: a missing queued would read as false

        var message = (await fixture.AgentAsync(a, "recv", "--wait", "5", "--json")).Ok().JsonAs<RecvOneReply>().Message!;
        Assert.Equal(id, message.Id);
        Assert.Equal("next_turn", message.Kind);
        Assert.Equal(a, message.From);
        Assert.Equal(a, message.To);

        // Taken and acknowledged, the next request queues a new one.
        var next = (await fixture.AgentAsync(a, "request-next-turn")).Ok().Stdout.Trim();
        Assert.Matches(@"^next turn queued: #\d+$", next);
        Assert.NotEqual($"next turn queued: #{id}", next);
    }

    [Fact]
    public async Task Refusals_exit_1_with_the_code_and_usage_errors_exit_2()
    {
        var a = await _hive.NewAgentAsync("a");
        (await fixture.AgentAsync(a, "send", "nobody-here", "hi", "--json")).Refused("not_found");
        (await fixture.AgentAsync(a, "send", "nobody-here", "hi")).Refused("not_found");
        (await fixture.AgentAsync(a, "ack", "999999999", "--json")).Refused("not_found");
        (await fixture.AgentAsync(a, "send", "bob", new string('x', 2000), "--json")).Refused("too_large");

        (await fixture.AgentAsync(a, "send", "bob")).Usage(); // BODY missing
        (await fixture.AgentAsync(a, "ack", "not-a-number")).Usage();
        (await Hivectl.RunAsync(["whoami", "--json"])).Usage(); // no --socket, no $HIVE_SOCKET
        var unknown = (await Hivectl.RunAsync(["frobnicate", "--json"])).Usage();
        Assert.Equal("usage", unknown.JsonAs<Refusal>().Code);
        (await Hivectl.RunAsync(["whoami", "--socket", Path.Combine(_hive.DataDir, "run", "nobody.sock"), "--json"])).Refused("unavailable");
    }
}
