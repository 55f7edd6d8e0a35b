using Hive.Contracts.Governance;
using Hive.Features.Governance;
using Hive.Shared.Audit;
using Hive.Shared.Errors;
using Hive.Tests.Cli;
using MediatR;

namespace Hive.Tests.Features.Governance;

/// <summary>
/// The watchdog: a turn that hangs is nudged, then its agent paused with one question to the operator;
/// turns that spend and do nothing pause their agent with one question; a crash loop asks once. Every firing and every
/// answer is one intervention row, rolled back with its action when that fails; a rule's authority cannot lift the
/// operator's pause; and a firing survives a SIGKILL of the host exactly once.
/// </summary>
public sealed class WatchdogTests : IAsyncLifetime
{
    /// <summary>1.2 s: nudged at 1.2 s, paused at 2.4 s (the clock ticks each second).</summary>
    private const string StallMinutes = "0.02";

    private readonly string _dir = Directory.CreateTempSubdirectory("hive-watchdog-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => TestDirectories.DeleteAsync(_dir);

    private sealed record Row(long Id, string Actor, long Authority, string Action, string? Target);

    private static List<Row> Rows(HiveInstance hive, string agent) =>
        hive.QueryDbList<Row>("SELECT id, actor, authority, action, target FROM interventions WHERE target = @agent ORDER BY id", new { agent });

    private sealed record Asked(long Id, string Question, string[] Options);

    private static List<Asked> HiveQuestions(HiveInstance hive) =>
        hive.QueryDbList<(long Id, string Question, string Options)>("SELECT id, question, options FROM questions WHERE asker = 'hive' ORDER BY id")
            .Select(q => new Asked(q.Id, q.Question, JsonSerializer.Deserialize<string[]>(q.Options)!)).ToList();

    private static async Task<bool> PausedAsync(HiveInstance hive, string agent) =>
        (await hive.GetJsonAsync("/api/governance")).GetProperty("paused").EnumerateArray().Any(p => p.GetProperty("agent").GetString() == agent);

    /// <summary>Lets the governance clock tick <paramref name="ticks"/> more times: whatever a rule would still do, it has done.</summary>
    private static async Task TicksAsync(HiveInstance hive, int ticks = 3)
    {
        var clock = hive.Service<TurnClock>();
        var from = clock.CompletedTicks;
        await HiveInstance.Until(() => clock.CompletedTicks >= from + ticks, TimeSpan.FromSeconds(20), $"{ticks} ticks of the governance clock");
    }

    private static async Task AnswerAsync(HiveInstance hive, long question, string answer)
    {
        using var answered = await hive.Http.PostAsJsonAsync($"/api/questions/{question}/answer", new { answer });
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }

    [Fact]
    public async Task A_hanging_command_is_nudged_then_paused_with_one_question_and_ending_the_turn_gives_its_messages_back_flagged()
    {
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"],
            "--Hive:Governance:StallMinutes", StallMinutes, "--Hive:Containers:StopGraceSeconds", "1");
        var runs = Path.Combine(_dir, "runs");
        var second = Path.Combine(_dir, "second-wake");
        var script = Path.Combine(_dir, "command.sh");
        // The first run hangs; the second writes what it was woken with.
        await File.WriteAllTextAsync(script, $$"""
            echo run >> '{{runs}}'
            if [ "$(wc -l < '{{runs}}')" -gt 1 ]; then cat > '{{second}}.part'; mv '{{second}}.part' '{{second}}'; exit 0; fi
            cat > /dev/null
            exec sleep 600
            """);
        long sent;
        await using (var bob = await hive.ConnectAsync("bob")) sent = await bob.SendAsync("alice", "please summarise the log");
        await using var harness = Hivectl.Start(["run", "--socket", hive.SocketPath("alice"), "--", "/bin/sh", script]);

        await HiveInstance.Until(() => Rows(hive, "alice").Any(r => r.Action == "pause"), TimeSpan.FromSeconds(30), "the stall rule's pause");
        var turn = (await hive.GetJsonAsync("/api/governance")).GetProperty("running").EnumerateArray().Single();
        Assert.Equal("alice", turn.GetProperty("agent").GetString()); // the turn runs on while the operator decides
        var turnId = turn.GetProperty("turn_id").GetInt64();
        Assert.True(await PausedAsync(hive, "alice"));
        var nudge = hive.QueryDbList<string>("SELECT body FROM messages WHERE sender = 'hive' AND recipient = 'alice' AND kind = 'nudge'");
        Assert.Contains($"Your turn {turnId} has run", Assert.Single(nudge));

        // Ticks later, still one of each: one nudge, one pause, one question.
        await TicksAsync(hive);
        Assert.Equal([("stall", (long)Authority.Watchdog, "nudge"), ("stall", Authority.Watchdog, "pause")],
            Rows(hive, "alice").Select(r => (r.Actor, r.Authority, r.Action)));
        var question = Assert.Single(HiveQuestions(hive));
        Assert.Contains($"alice's turn {turnId} has run", question.Question);
        Assert.Equal(["end the turn", "give it 0.02 more minutes", "keep paused"], question.Options);

        await AnswerAsync(hive, question.Id, "end the turn");
        await HiveInstance.Until(() => hive.QueryDb<string?>("SELECT end_reason FROM governed_turns WHERE id = @turnId", new { turnId }) == "ended_by_operator",
            TimeSpan.FromSeconds(10), "the turn ended by the answer");
        Assert.False(await PausedAsync(hive, "alice"));
        // The harness stopped the hanging command; the message came back flagged, with the nudge after it.
        await HiveInstance.Until(() => File.Exists(second), TimeSpan.FromSeconds(30), $"the second run's wake; the harness said:\n{harness.Stderr}");
        var wake = await File.ReadAllTextAsync(second);
        var message = wake.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Single(m => m.GetProperty("id").GetInt64() == sent);
        Assert.True(message.GetProperty("redelivered").GetBoolean());
        var rows = Rows(hive, "alice");
        Assert.Equal(["nudge", "pause", "end_turn"], rows.Select(r => r.Action));
        Assert.Equal(("operator", (long)Authority.Guardian), (rows[2].Actor, rows[2].Authority));

        ProcessTable.Kill(harness.Pid, signal: 15);
        await harness.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Give_it_more_minutes_resumes_and_restarts_the_stall_clock_and_keep_paused_makes_the_pause_the_operators()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Governance:StallMinutes", StallMinutes, "--Hive:Containers:StopGraceSeconds", "1");
        await using var alice = await hive.ConnectAsync("alice");
        var turnId = await GovernanceHive.GrantedAsync(alice);
        await HiveInstance.Until(() => HiveQuestions(hive).Count == 1, TimeSpan.FromSeconds(30), "the stall question");

        await using var events = await hive.OpenEventsAsync();
        await AnswerAsync(hive, HiveQuestions(hive)[0].Id, "give it 0.02 more minutes");
        await HiveInstance.Until(() => Rows(hive, "alice").Any(r => r.Action == "extend_turn"), TimeSpan.FromSeconds(10), "the extension");
        // Resumed by the answer, as an event says: asked after the fact, the pause 2.4 s on may already be there again.
        var resumed = await events.WaitForPayloadAsync<AgentResumedPayload>("agent_resumed", e => e.Agent == "alice");
        Assert.Equal("operator", resumed.By);
        // The clock starts again: a second nudge and a second question, for the same turn.
        await HiveInstance.Until(() => HiveQuestions(hive).Count == 2, TimeSpan.FromSeconds(30), "the second stall question");
        Assert.Equal(["nudge", "pause", "extend_turn", "nudge", "pause"], Rows(hive, "alice").Select(r => r.Action));

        await AnswerAsync(hive, HiveQuestions(hive)[1].Id, "keep paused");
        var kept = (await hive.GetJsonAsync("/api/governance")).GetProperty("paused").EnumerateArray().Single();
        Assert.Equal("operator", kept.GetProperty("by").GetString());
        // The turn is told to stop now, and ends at its grace.
        var watch = AgentClient.Ok(await alice.CallAsync(new { op = "watch_turn", turn_id = turnId, wait_ms = 10_000 }));
        Assert.Equal("stop", watch.GetProperty("state").GetString());
        var last = Rows(hive, "alice")[^1];
        Assert.Equal(("operator", "pause"), (last.Actor, last.Action));

        // A rule cannot lift what the operator now holds.
        var mediator = hive.Service<IMediator>();
        await Assert.ThrowsAsync<ForbiddenException>(() => mediator.Send(new ResumeAgent.Command("alice", Actor.Rule(WatchdogRules.Loop))));
        await Assert.ThrowsAsync<ForbiddenException>(() => mediator.Send(new RevertIntervention.Command(last.Id, Actor.Rule(WatchdogRules.Stall))));
        Assert.True(await PausedAsync(hive, "alice"));
    }

    [Fact]
    public async Task The_stall_question_names_a_failing_streak_of_model_calls_and_only_for_the_agent_whose_calls_fail()
    {
        // Alice's provider refuses connections (nothing listens on its port); bob's calls never failed.
        var port = HostProcess.FreePort();
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"],
            Hive.Tests.Features.Gateway.GatewayKit.Provider($"http://127.0.0.1:{port}", "--Hive:Governance:StallMinutes", StallMinutes));
        using (var saved = await hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = Hive.Tests.Features.Gateway.GatewayKit.NewKey() }))
            Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        using (var door = Hive.Tests.Features.Gateway.GatewayKit.Door(hive, "alice"))
            for (var i = 0; i < 2; i++)
            {
                using var response = await door.PostAsync("/v1/messages", Hive.Tests.Features.Gateway.GatewayKit.MessagesBody());
                Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            }

        await using var alice = await hive.ConnectAsync("alice");
        await using var bob = await hive.ConnectAsync("bob");
        var aliceTurn = await GovernanceHive.GrantedAsync(alice);
        var bobTurn = await GovernanceHive.GrantedAsync(bob);
        await HiveInstance.Until(() => HiveQuestions(hive).Count == 2, TimeSpan.FromSeconds(30), "both stall questions");

        var questions = HiveQuestions(hive).Select(q => q.Question).ToList();
        var asked = Assert.Single(questions, q => q.StartsWith($"alice's turn {aliceTurn} has run", StringComparison.Ordinal));
        Assert.Matches($@"did not end when nudged\. Its model calls are failing: 2 in a row, connection refused to 127\.0\.0\.1:{port}, since \d\d:\d\d UTC\. alice is paused",
            asked);
        var quiet = Assert.Single(questions, q => q.StartsWith($"bob's turn {bobTurn} has run", StringComparison.Ordinal));
        Assert.DoesNotContain("model calls", quiet);
    }

    [Fact]
    public async Task Five_empty_turns_in_a_row_pause_with_one_question_and_a_turn_that_sends_resets_the_count()
    {
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Governance:StallMinutes", "0");
        await using var alice = await hive.ConnectAsync("alice");
        await using var bob = await hive.ConnectAsync("bob");

        // An empty turn: woken by a message (acknowledged, as a harness does), tokens spent, nothing else done.
        async Task EmptyTurnAsync()
        {
            await bob.SendAsync("alice", "ping");
            var wake = (await alice.RecvAsync(5000))!.Value.GetProperty("id").GetInt64();
            var turn = await GovernanceHive.GrantedAsync(alice);
            await alice.AckAsync(wake);
            AgentClient.Ok(await alice.CallAsync(GovernanceHive.Record(turn)));
        }

        for (var i = 0; i < 4; i++) await EmptyTurnAsync();
        // The fifth turn sends a message: the run is broken.
        var busy = await GovernanceHive.GrantedAsync(alice);
        await alice.SendAsync("bob", "here is the summary");
        AgentClient.Ok(await alice.CallAsync(GovernanceHive.Record(busy)));
        for (var i = 0; i < 4; i++) await EmptyTurnAsync();
        Assert.False(await PausedAsync(hive, "alice"));
        Assert.Empty(HiveQuestions(hive));

        await EmptyTurnAsync(); // the fifth empty one in a row
        Assert.True(await PausedAsync(hive, "alice"));
        var question = Assert.Single(HiveQuestions(hive));
        Assert.Contains("alice's last 5 turns spent 600 tokens and did nothing else", question.Question);
        Assert.Equal(["resume", "keep paused"], question.Options);
        var pause = Assert.Single(Rows(hive, "alice"));
        Assert.Equal(("loop", (long)Authority.Watchdog, "pause"), (pause.Actor, pause.Authority, pause.Action));
        Assert.Equal("paused", (await GovernanceHive.BeginAsync(alice, 100)).GetProperty("held").GetProperty("reason").GetString());

        await AnswerAsync(hive, question.Id, "resume");
        Assert.False(await PausedAsync(hive, "alice"));
        Assert.Equal(["pause", "resume"], Rows(hive, "alice").Select(r => r.Action));
        // The count starts afresh after the question: one more empty turn asks nothing.
        await EmptyTurnAsync();
        Assert.Single(HiveQuestions(hive));
        Assert.False(await PausedAsync(hive, "alice"));
    }

    [Fact]
    public async Task A_firing_whose_question_fails_rolls_back_with_its_pause_and_a_failed_halt_leaves_no_row()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Governance:StallMinutes", StallMinutes);
        // A real failure inside the change: the database refuses the question (then the halt's row) until the trigger goes.
        hive.ExecuteDb("CREATE TRIGGER refuse_questions BEFORE INSERT ON questions BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
        await using var alice = await hive.ConnectAsync("alice");
        await GovernanceHive.GrantedAsync(alice);
        await HiveInstance.Until(() => Rows(hive, "alice").Any(r => r.Action == "nudge"), TimeSpan.FromSeconds(30), "the nudge");
        await TicksAsync(hive, 3); // the pause was tried (the turn is past twice the stall time) and failed each time
        Assert.Equal(["nudge"], Rows(hive, "alice").Select(r => r.Action));
        Assert.False(await PausedAsync(hive, "alice"));

        hive.ExecuteDb("DROP TRIGGER refuse_questions");
        await HiveInstance.Until(() => HiveQuestions(hive).Count == 1, TimeSpan.FromSeconds(30), "the question once the database takes it");
        await TicksAsync(hive);
        Assert.Equal(["nudge", "pause"], Rows(hive, "alice").Select(r => r.Action));
        Assert.True(await PausedAsync(hive, "alice"));

        // A throttle action: the halt's row refused, so the halt is not taken either.
        hive.ExecuteDb("CREATE TRIGGER refuse_halts BEFORE INSERT ON interventions WHEN new.action = 'halt' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
        using (var halt = await hive.Http.PostAsync("/api/governance/halt", null)) Assert.False(halt.IsSuccessStatusCode);
        Assert.Equal(JsonValueKind.Null, (await hive.GetJsonAsync("/api/governance")).GetProperty("halted").ValueKind);
        Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM interventions WHERE action = 'halt'"));
        hive.ExecuteDb("DROP TRIGGER refuse_halts");
        using (var halt = await hive.Http.PostAsync("/api/governance/halt", null)) Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
        Assert.Equal(1, hive.QueryDb<long>("SELECT count(*) FROM interventions WHERE action = 'halt'"));
    }

    [Fact]
    public async Task A_crash_loop_asks_once_and_restart_it_starts_the_agent_again()
    {
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Containers:MaxRestarts", "1", "--Hive:Containers:RestartBackoffSeconds", "0.05");
        var flag = Path.Combine(_dir, "healthy");
        await using var events = await hive.OpenEventsAsync();
        // Crashes until the flag exists, then runs.
        using (var created = await hive.Http.PostAsJsonAsync("/api/agents", new
        {
            name = "crashy", driver = "process", command = new[] { "/bin/sh", "-c", $"[ -e '{flag}' ] || exit 3; exec sleep 600" },
        }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await HiveInstance.Until(() => HiveQuestions(hive).Count == 1, TimeSpan.FromSeconds(30), "the crash loop question");
        await TicksAsync(hive);
        var question = Assert.Single(HiveQuestions(hive));
        Assert.Contains("crashy kept crashing (exit code 3) and is failed", question.Question);
        Assert.Equal(["restart it", "leave it stopped"], question.Options);
        Assert.Empty(Rows(hive, "crashy"));

        await File.WriteAllTextAsync(flag, "");
        await AnswerAsync(hive, question.Id, "restart it");
        await events.WaitForAsync("container_state_changed",
            e => e.GetProperty("agent").GetProperty("name").GetString() == "crashy" && e.GetProperty("agent").GetProperty("state").GetString() == "running",
            TimeSpan.FromSeconds(30));
        var restart = Assert.Single(Rows(hive, "crashy"));
        Assert.Equal(("operator", "restart"), (restart.Actor, restart.Action));
        await Hive.Tests.Features.Containers.ContainersKit.DestroyAsync(hive, "crashy");
    }

    [Fact]
    public async Task A_turn_ended_by_hand_a_stop_a_destroy_and_an_answer_for_an_agent_are_one_intervention_each()
    {
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"]);
        await using var alice = await hive.ConnectAsync("alice");
        var turnId = await GovernanceHive.GrantedAsync(alice);
        using (var ended = await hive.Http.PostAsJsonAsync($"/api/governance/turns/{turnId}/end", new { reason = "wrong task" }))
            Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        var watch = AgentClient.Ok(await alice.CallAsync(new { op = "watch_turn", turn_id = turnId, wait_ms = 5000 }));
        Assert.Equal("ended", watch.GetProperty("state").GetString());
        using (var again = await hive.Http.PostAsync($"/api/governance/turns/{turnId}/end", null)) Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        using (var unknown = await hive.Http.PostAsync("/api/governance/turns/987654/end", null)) Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var endRow = Assert.Single(Rows(hive, "alice"));
        Assert.Equal(("operator", "end_turn"), (endRow.Actor, endRow.Action));

        // The operator answers bob's question to alice, on her behalf.
        await using var bob = await hive.ConnectAsync("bob");
        var asked = AgentClient.Ok(await bob.CallAsync(new { op = "ask", to = "alice", question = "which branch?" })).GetProperty("id").GetInt64();
        await AnswerAsync(hive, asked, "main");
        Assert.Equal(["end_turn", "answer_for_agent"], Rows(hive, "alice").Select(r => r.Action));

        // A stop and a destroy of a running agent; a stop is not undone by a revert.
        using (var created = await hive.Http.PostAsJsonAsync("/api/agents", new { name = "sleeper", driver = "process", command = new[] { "/bin/sleep", "600" } }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using (var stopped = await hive.Http.PostAsync("/api/agents/sleeper/stop", null)) Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        var stop = Assert.Single(Rows(hive, "sleeper"));
        Assert.Equal(("operator", (long)Authority.Guardian, "stop"), (stop.Actor, stop.Authority, stop.Action));
        using (var revert = await hive.Http.PostAsync($"/api/interventions/{stop.Id}/revert", null))
        {
            Assert.Equal(HttpStatusCode.Conflict, revert.StatusCode);
            Assert.Contains("start it again", await revert.Content.ReadAsStringAsync());
        }
        await Hive.Tests.Features.Containers.ContainersKit.DestroyAsync(hive, "sleeper");
        Assert.Equal(["stop", "destroy"], Rows(hive, "sleeper").Select(r => r.Action));
    }

    [Fact]
    public async Task A_SIGKILL_right_after_a_firing_leaves_exactly_one_question_and_one_row_after_the_restart()
    {
        var dataDir = Path.Combine(_dir, "data");
        long turnId;
        await using (var host = await HostProcess.StartAsync(dataDir, ["alice"], extraArgs: ["--Hive:Governance:StallMinutes", StallMinutes]))
        {
            await using var alice = await host.ConnectAsync("alice");
            turnId = await GovernanceHive.GrantedAsync(alice);
            // The firing's pause, its row and its question are one commit: the host dies the moment it shows.
            await HiveInstance.Until(() => HiveInstance.QueryDb<long>(dataDir, "SELECT count(*) FROM interventions WHERE action = 'pause'") > 0,
                TimeSpan.FromSeconds(30), "the stall rule's pause");
            await host.KillAsync();
        }

        await using var restarted = await HostProcess.StartAsync(dataDir, ["alice"], extraArgs: ["--Hive:Governance:StallMinutes", StallMinutes]);
        await HiveInstance.Until(() => HiveInstance.QueryDb<string?>(dataDir, "SELECT end_reason FROM governed_turns WHERE id = @turnId", new { turnId }) == "host_restart",
            TimeSpan.FromSeconds(30), "the killed host's turn ended at the restart");
        Assert.Equal(1, HiveInstance.QueryDb<long>(dataDir, "SELECT count(*) FROM questions WHERE asker = 'hive'"));
        Assert.Equal(1, HiveInstance.QueryDb<long>(dataDir, "SELECT count(*) FROM watchdog_questions"));
        Assert.Equal(1, HiveInstance.QueryDb<long>(dataDir, "SELECT count(*) FROM interventions WHERE action = 'pause'"));
        using var api = restarted.CreateClient();
        Assert.Contains((await api.GetFromJsonAsync<JsonElement>("/api/governance")).GetProperty("paused").EnumerateArray(),
            p => p.GetProperty("agent").GetString() == "alice");

        // Answered after the restart: the turn is over already; the agent is resumed, recorded once.
        var question = HiveInstance.QueryDb<long>(dataDir, "SELECT question_id FROM watchdog_questions");
        using (var answered = await api.PostAsJsonAsync($"/api/questions/{question}/answer", new { answer = "end the turn" }))
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Empty((await api.GetFromJsonAsync<JsonElement>("/api/governance")).GetProperty("paused").EnumerateArray());
        Assert.Equal(["nudge", "pause", "end_turn"], HiveInstance.QueryDbList<string>(dataDir, "SELECT action FROM interventions ORDER BY id"));
    }
}
