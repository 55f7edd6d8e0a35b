using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Reminders;
using Hive.Contracts.TurnStats;
using Hive.Features.Questions;

namespace Hive.Tests.Cli;

/// <summary>The operator's commands (HTTP API, Bearer token) through the built hivectl, against a real hive.</summary>
public sealed class OperatorCommandsTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Status_lists_the_agents_with_their_state()
    {
        // Agent rows, raw: they are assembled at run time and have no record.
        var json = (await fixture.OperatorAsync("status", "--json")).Ok().Json;
        var agents = json.GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        Assert.Contains("alice", agents.Keys);
        Assert.Contains("bob", agents.Keys);
        Assert.Contains("manager", agents.Keys);
        Assert.True(agents["alice"].TryGetProperty("state", out _));

        var text = (await fixture.OperatorAsync("status")).Ok().Stdout;
        Assert.Contains("AGENT", text);
        Assert.Matches(@"(?m)^alice\s+agent\s+external\s+", text);

        // A turn's result stands beside its time.
        await using (var bob = await _hive.ConnectAsync("bob"))
            await Hive.Tests.Features.TurnStats.TurnStatsHive.RecordAsync(bob, Hive.Tests.Features.TurnStats.TurnStatsHive.Turn(extra: new { result_kind = "failed" }));
        Assert.Matches(@"(?m)^bob\s.*\d\d:\d\d:\d\d\.\d{3}Z \(failed\)", (await fixture.OperatorAsync("status")).Ok().Stdout);
    }

    [Fact]
    public async Task The_token_is_found_in_the_data_dir_or_the_environment_and_a_missing_one_is_refused()
    {
        var url = _hive.BaseAddress.ToString();
        (await Hivectl.RunAsync(["status", "--json", "--url", url, "--data-dir", _hive.DataDir])).Ok();
        (await Hivectl.RunAsync(["status", "--json"], new Dictionary<string, string> { ["HIVE_URL"] = url, ["HIVE_TOKEN"] = _hive.Token! })).Ok();

        // The default data dir is ./.hive, relative to where hivectl runs.
        var cwd = Directory.CreateTempSubdirectory("hivectl-cwd-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(cwd, ".hive"));
            File.WriteAllText(Path.Combine(cwd, ".hive", "operator-token"), _hive.Token + "\n");
            (await Hivectl.RunAsync(["status", "--json", "--url", url], workingDirectory: cwd)).Ok();
        }
        finally
        {
            Directory.Delete(cwd, recursive: true);
        }

        var empty = Directory.CreateTempSubdirectory("hivectl-empty-").FullName;
        try
        {
            // Each refusal says where the token came from, or which file was tried, and how to point hivectl elsewhere.
            var none = (await Hivectl.RunAsync(["status", "--url", url, "--data-dir", empty])).Refused("unauthorized");
            Assert.Contains(Path.Combine(empty, "operator-token"), none.Stderr);
            Assert.Contains("--data-dir", none.Stderr);
            (await Hivectl.RunAsync(["status", "--json", "--url", url, "--data-dir", empty])).Refused("unauthorized");
            var wrong = (await Hivectl.RunAsync(["status", "--url", url, "--token", "not-the-token-at-all"])).Refused("unauthorized");
            Assert.Contains("--token", wrong.Stderr);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
        // No hive there at all.
        (await Hivectl.RunAsync(["status", "--json", "--url", "http://127.0.0.1:1", "--token", "x"])).Refused("unavailable");
        (await Hivectl.RunAsync(["status", "--url", "ftp://nowhere"])).Usage();
    }

    [Fact]
    public async Task Inbox_shows_what_agents_sent_the_operator()
    {
        var a = await _hive.NewAgentAsync("a");
        var id = (await fixture.AgentAsync(a, "send", "operator", "hello operator", "--json")).Ok().JsonAs<SendReply>().Id;
        var inbox = (await fixture.OperatorAsync("inbox", "--json")).Ok().JsonAs<MessageView[]>();
        var row = inbox.Single(m => m.Id == id);
        Assert.Equal(a, row.From);
        Assert.Contains("hello operator", (await fixture.OperatorAsync("inbox")).Ok().Stdout);
    }

    [Fact]
    public async Task Send_without_a_socket_is_the_operators_and_reaches_the_agent()
    {
        var a = await _hive.NewAgentAsync("a");
        var sent = (await fixture.OperatorAsync("send", a, "hello from the operator", "--json")).Ok().JsonAs<MessageView>();
        var id = sent.Id;
        Assert.Equal("operator", sent.From);

        var got = (await fixture.AgentAsync(a, "recv", "--wait", "5", "--json")).Ok().JsonAs<RecvOneReply>().Message!;
        Assert.Equal(id, got.Id);
        Assert.Equal("operator", got.From);
        Assert.Equal("hello from the operator", got.Body);

        // Where $HIVE_SOCKET is set, --as-operator still speaks as the operator; without it, as the socket's agent.
        var b = await _hive.NewAgentAsync("b");
        var inAgent = new Dictionary<string, string> { ["HIVE_SOCKET"] = _hive.SocketPath(b) };
        Assert.Matches(@"^sent #\d+$", (await Hivectl.RunAsync([.. fixture.OperatorArgs, "send", a, "second", "--as-operator"], inAgent)).Ok().Stdout.Trim());
        (await Hivectl.RunAsync(["send", a, "third"], inAgent)).Ok();
        var next = (await fixture.AgentAsync(a, "recv", "--wait", "5", "--max", "2", "--json")).Ok().JsonAs<RecvManyReply>().Messages;
        Assert.Equal(new[] { ("operator", "second"), (b, "third") }, next.Select(m => (m.From, m.Body)).ToArray());
        (await Hivectl.RunAsync(["send", a, "x", "--as-operator", "--socket", _hive.SocketPath(b)])).Usage();

        // Refusals are the API's: no such agent, an empty body.
        (await fixture.OperatorAsync("send", "nobody-" + Guid.NewGuid().ToString("N")[..6], "hi", "--json")).Refused("not_found");
        (await fixture.OperatorAsync("send", a, "", "--json")).Refused("validation");

        // No socket and no token: the refusal names the file tried, and the agent form's socket.
        var empty = Directory.CreateTempSubdirectory("hivectl-empty-").FullName;
        try
        {
            var refused = (await Hivectl.RunAsync(["send", a, "hi", "--url", _hive.BaseAddress.ToString(), "--data-dir", empty])).Refused("unauthorized");
            Assert.Contains(Path.Combine(empty, "operator-token"), refused.Stderr);
            Assert.Contains("HIVE_SOCKET", refused.Stderr);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task Remind_as_the_operator_schedules_a_reminder_that_fires_to_the_agent_from_reminder()
    {
        var a = await _hive.NewAgentAsync("a");
        var scheduled = (await fixture.OperatorAsync("remind", "stand-up in five", "--to", a, "--in", "0", "--json")).Ok().JsonAs<ReminderView>();
        var id = scheduled.Id;
        Assert.Equal(a, scheduled.Agent);

        var fired = (await fixture.AgentAsync(a, "recv", "--wait", "15", "--json")).Ok().JsonAs<RecvOneReply>().Message!;
        Assert.Equal("reminder", fired.From);
        Assert.Equal("reminder", fired.Kind);
        Assert.Equal(id, fired.Extra!["reminder_id"].GetInt64()); // an extra field of the system message (no record names it)
        Assert.Equal("stand-up in five", fired.Body);

        // --at, and the human form.
        var at = DateTimeOffset.UtcNow.AddHours(2).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Matches($@"^reminder #\d+ for {a} due ", (await fixture.OperatorAsync("remind", "later", "--to", a, "--at", at)).Ok().Stdout);

        // Validated like the agent's own: whom, when, what.
        (await fixture.OperatorAsync("remind", "whom?", "--in", "5")).Usage();
        (await fixture.OperatorAsync("remind", "x", "--to", "nobody-" + Guid.NewGuid().ToString("N")[..6], "--in", "5", "--json")).Refused("not_found");
        (await fixture.OperatorAsync("remind", "x", "--to", a, "--in", "-5", "--json")).Refused("validation");
        (await fixture.OperatorAsync("remind", "", "--to", a, "--in", "5", "--json")).Refused("validation");
        (await fixture.OperatorAsync("remind", "x", "--to", a, "--payload", "/etc/passwd", "--in", "5", "--json")).Refused("forbidden");
        // An agent reminds only itself.
        (await fixture.AgentAsync(a, "remind", "x", "--to", "bob", "--in", "5")).Usage();
    }

    [Fact]
    public async Task Status_shows_the_last_turns_result_beside_its_time()
    {
        var a = await _hive.NewAgentAsync("a");
        await using (var agent = await _hive.ConnectAsync(a))
        {
            // A turn is recorded only as the turn it was granted.
            var turnId = (await agent.CallAsync(GovernanceVerbs.BeginTurn, new BeginTurnArgs(5000))).TurnId;
            var now = DateTimeOffset.UtcNow;
            await agent.CallAsync(TurnStatsVerbs.RecordTurn, new RecordTurnArgs(null, null, "prompt_too_long", now, now, null, null, null, null, null, null,
                null, null, null, null, null, turnId));
        }
        var text = (await fixture.OperatorAsync("status")).Ok().Stdout;
        Assert.Matches($@"(?m)^{a}\s.*\d{{4}}-\d\d-\d\dT\S+ \(prompt_too_long\)$", text);
    }

    [Fact]
    public async Task Questions_lists_an_agents_question_and_the_operator_answers_it()
    {
        var a = await _hive.NewAgentAsync("a");
        await using var asking = Hivectl.Start(["ask", "may I deploy?", "--wait", "20", "--socket", _hive.SocketPath(a)]);

        long id = 0;
        await HiveInstance.Until(() => (id = _hive.QueryDbList<long>("SELECT id FROM questions WHERE asker = @a", new { a }).FirstOrDefault()) > 0,
            TimeSpan.FromSeconds(15), "the question");
        var listed = (await fixture.OperatorAsync("questions", "--json")).Ok().JsonAs<ListQuestions.Result>();
        var pending = listed.Pending.Single(q => q.Id == id);
        Assert.Equal("may I deploy?", pending.Question);
        Assert.Contains("may I deploy?", (await fixture.OperatorAsync("questions", "--filter", "operator")).Ok().Stdout);

        (await fixture.OperatorAsync("questions", "answer", id.ToString(), "go ahead", "--json")).Ok();
        var result = await asking.WaitForExitAsync(TimeSpan.FromSeconds(25));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("go ahead", result.Stdout.Trim()); // the human form of ask --wait: the answer itself

        (await fixture.OperatorAsync("questions", "answer", id.ToString(), "twice", "--json")).Refused("conflict");
        (await fixture.OperatorAsync("questions", "answer", "99999999", "x")).Refused("not_found");
    }

    [Fact]
    public async Task Reminders_lists_retries_and_cancels()
    {
        var a = await _hive.NewAgentAsync("a");
        var id = (await fixture.AgentAsync(a, "remind", "water the plants", "--in", "3600", "--json")).Ok().JsonAs<RemindReply>().Id;

        // hivectl puts the two lists side by side in a document of its own (no record): each list is read as its records.
        var list = (await fixture.OperatorAsync("reminders", "--json")).Ok().Json;
        var row = list.GetProperty("pending").Deserialize<ReminderView[]>(HiveJson.Options)!.Single(r => r.Id == id);
        Assert.Equal(a, row.Agent);
        Assert.Contains("water the plants", (await fixture.OperatorAsync("reminders")).Ok().Stdout);

        (await fixture.OperatorAsync("reminders", "retry", id.ToString(), "--json")).Ok();
        (await fixture.OperatorAsync("reminders", "cancel", id.ToString(), "--json")).Ok();
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE id = @id", new { id }));
        (await fixture.OperatorAsync("reminders", "cancel", id.ToString(), "--json")).Refused("not_found");
        (await fixture.OperatorAsync("reminders", "retry", id.ToString())).Refused("not_found");
        (await fixture.OperatorAsync("reminders", "cancel")).Usage();
    }

    [Fact]
    public async Task Reminders_lists_recurring_reminders_too()
    {
        var a = await _hive.NewAgentAsync("a");
        var id = (await fixture.AgentAsync(a, "remind", "weekly report", "--cron", "0 9 * * 1", "--tz", "Europe/Berlin", "--json")).Ok()
            .JsonAs<RemindReply>().Id;

        var text = (await fixture.OperatorAsync("reminders")).Ok().Stdout;
        var line = text.Split('\n').Single(l => l.Contains("weekly report", StringComparison.Ordinal));
        Assert.Contains("recurring:", text);
        Assert.Contains(a, line);
        Assert.Contains("0 9 * * 1", line);
        Assert.Contains("Europe/Berlin", line);
        var recurring = (await fixture.OperatorAsync("reminders", "--json")).Ok().Json.GetProperty("recurring")
            .Deserialize<RecurringReminderView[]>(HiveJson.Options)!.Single(r => r.Id == id);
        Assert.Equal(("weekly report", "active"), (recurring.Body, recurring.State));
    }

    [Fact]
    public async Task Approvals_are_listed_denied_and_approved()
    {
        var doomed = await _hive.NewAgentAsync("doomed");
        await using var manager = await _hive.ConnectAsync("manager");
        async Task<long> Request(string reason) => (await manager.CallAsync(ManagerVerbs.RequestDestroy, new DestroyArgs(doomed, reason))).ApprovalId;
        var first = await Request("done with it");

        var pending = (await fixture.OperatorAsync("approvals", "--json")).Ok().JsonAs<ApprovalView[]>();
        Assert.Contains(pending, p => p.Id == first && p.Status == "pending");
        Assert.Contains(doomed, (await fixture.OperatorAsync("approvals")).Ok().Stdout);

        var denied = (await fixture.OperatorAsync("approvals", "deny", first.ToString(), "--reason", "keep it", "--json")).Ok().JsonAs<ApprovalView>();
        Assert.Equal("denied", denied.Status);
        Assert.Equal("keep it", denied.Reason);
        (await fixture.OperatorAsync("approvals", "approve", first.ToString(), "--json")).Refused("conflict");
        var all = (await fixture.OperatorAsync("approvals", "--all", "--json")).Ok().JsonAs<ApprovalView[]>();
        Assert.Contains(all, p => p.Id == first);

        var second = await Request("really");
        var approved = (await fixture.OperatorAsync("approvals", "approve", second.ToString(), "--json")).Ok().JsonAs<ApprovalView>();
        Assert.Equal("approved", approved.Status);
        var agents = (await fixture.OperatorAsync("agents", "--json")).Ok().Json;
        Assert.DoesNotContain(agents.EnumerateArray(), x => x.GetProperty("name").GetString() == doomed);
    }

    [Fact]
    public async Task The_operator_sends_to_an_agent_without_a_socket_and_reads_the_inbox()
    {
        var sent = (await fixture.OperatorAsync("send", "alice", "from the operator's shell", "--json")).Ok().JsonAs<MessageView>();
        var id = sent.Id;
        await using var alice = await _hive.ConnectAsync("alice");
        MessageView? got = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(15); got is null && DateTime.UtcNow < deadline;)
        {
            if (await alice.RecvMessageAsync(1_000) is not { } m) continue;
            await alice.AckAsync(m.Id);
            if (m.Id == id) got = m;
        }
        Assert.NotNull(got);
        Assert.Equal("operator", got.From);
        Assert.Equal("from the operator's shell", got.Body);

        await alice.CallAsync(MessageVerbs.Send, new SendArgs("operator", "to the operator's inbox", null, null)); // throws unless ok
        Assert.Contains("to the operator's inbox", (await fixture.OperatorAsync("inbox")).Ok().Stdout);
    }

    [Fact]
    public async Task Logs_follow_with_a_tail_prints_those_lines_then_only_what_comes()
    {
        var name = "cli-tail-" + Guid.NewGuid().ToString("N")[..6];
        // Ten lines at once, then one more each time its state dir gets a "more" file.
        (await fixture.OperatorAsync("agents", "create", name, "--driver", "process", "--json", "--", "/bin/sh", "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10; do echo line-$i; done; until [ -e more ]; do sleep 0.05; done; echo line-11; exec sleep 600")).Ok();
        try
        {
            var log = Path.Combine(fixture.Hive.DataDir, "agents", name, "logs", "output.log");
            await HiveInstance.Until(() => File.Exists(log) && File.ReadAllText(log).Contains("line-10"), TimeSpan.FromSeconds(15), "ten lines");
            await using var follow = Hivectl.Start([.. fixture.OperatorArgs, "agents", "logs", name, "-f", "--tail", "2", "--interval", "0.1"]);
            await follow.UntilLineAsync(l => l == "line-10", TimeSpan.FromSeconds(15), "the tail");
            await File.WriteAllTextAsync(Path.Combine(fixture.Hive.DataDir, "agents", name, "state", "more"), "");
            await follow.UntilLineAsync(l => l == "line-11", TimeSpan.FromSeconds(15), "the line that came after");
            Assert.Equal(["line-9", "line-10", "line-11"], follow.StdoutLines.Where(l => l.StartsWith("line-", StringComparison.Ordinal)));
        }
        finally
        {
            (await fixture.OperatorAsync("agents", "destroy", name, "--json")).Ok();
        }
    }

    [Fact]
    public async Task Agents_are_created_started_stopped_restarted_destroyed_and_their_logs_followed()
    {
        var name = "cli-proc-" + Guid.NewGuid().ToString("N")[..6];
        // Agent rows (create, stop, start, the list) and the logs document hivectl makes, raw: none has a record.
        var created = (await fixture.OperatorAsync("agents", "create", name, "--driver", "process", "--env", "GREETING=hi",
            "--purpose", "a test", "--json", "--", "/bin/sh", "-c", "echo started-$$-$GREETING; exec sleep 600")).Ok().Json;
        Assert.Equal(name, created.GetProperty("name").GetString());
        Assert.Equal(["/bin/sh", "-c", "echo started-$$-$GREETING; exec sleep 600"], created.GetProperty("command").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("a test", created.GetProperty("purpose").GetString());

        try
        {
            await HiveInstance.Until(() => StateOf(name) == "running", TimeSpan.FromSeconds(15), "the agent to run");
            await using var follow = Hivectl.Start([.. fixture.OperatorArgs, "agents", "logs", name, "-f", "--interval", "0.1"]);
            var firstLine = await follow.UntilLineAsync(l => l.StartsWith("started-", StringComparison.Ordinal), TimeSpan.FromSeconds(15), "the first start's line");
            Assert.EndsWith("-hi", firstLine); // --env reached its environment

            var stopped = (await fixture.OperatorAsync("agents", "stop", name, "--json")).Ok().Json;
            Assert.Equal("stopped", stopped.GetProperty("state").GetString());
            var started = (await fixture.OperatorAsync("agents", "start", name, "--json")).Ok().Json;
            Assert.Equal("running", started.GetProperty("state").GetString());
            // Restarted only once this start has said so: a SIGTERM before its echo would leave no line for it.
            await HiveInstance.Until(() => follow.StdoutLines.Count(l => l.StartsWith("started-", StringComparison.Ordinal)) >= 2,
                TimeSpan.FromSeconds(20), "the second start's line in logs -f");
            Assert.Contains("running", (await fixture.OperatorAsync("agents", "restart", name)).Ok().Stdout);

            // logs -f prints each new start's line as the log grows.
            await HiveInstance.Until(() => follow.StdoutLines.Count(l => l.StartsWith("started-", StringComparison.Ordinal)) >= 3,
                TimeSpan.FromSeconds(20), "three start lines in logs -f");
            Assert.Equal(3, follow.StdoutLines.Count(l => l.StartsWith("started-", StringComparison.Ordinal)));
            Assert.Equal(firstLine, follow.StdoutLines.First(l => l.StartsWith("started-", StringComparison.Ordinal)));

            var logs = (await fixture.OperatorAsync("agents", "logs", name, "--tail", "100", "--json")).Ok().Json;
            Assert.Contains("started-", logs.GetProperty("text").GetString());
            Assert.Contains(name, (await fixture.OperatorAsync("agents")).Ok().Stdout);
        }
        finally
        {
            (await fixture.OperatorAsync("agents", "destroy", name, "--json")).Ok();
        }
        Assert.DoesNotContain((await fixture.OperatorAsync("agents", "--json")).Ok().Json.EnumerateArray(), x => x.GetProperty("name").GetString() == name);
        (await fixture.OperatorAsync("agents", "start", name, "--json")).Refused("not_found");
        (await fixture.OperatorAsync("agents", "logs", name, "--tail", "0")).Usage();
    }

    [Fact]
    public async Task An_external_agent_is_registered_and_gets_its_socket()
    {
        var name = "cli-ext-" + Guid.NewGuid().ToString("N")[..6];
        var created = (await fixture.OperatorAsync("agents", "create", name, "--external", "--json")).Ok().Json;
        Assert.Equal("external", created.GetProperty("driver").GetString());
        await HiveInstance.Until(() => File.Exists(_hive.SocketPath(name)), TimeSpan.FromSeconds(10), "its socket");
        Assert.Equal(name, (await fixture.AgentAsync(name, "whoami")).Ok().Stdout.Trim());
        (await fixture.OperatorAsync("agents", "create", name, "--external", "--json")).Refused("conflict");
        (await fixture.OperatorAsync("agents", "create", "BadName", "--external", "--json")).Refused("validation");
        (await fixture.OperatorAsync("agents", "create", name)).Usage(); // neither a command nor --external
        (await fixture.OperatorAsync("agents", "destroy", name)).Ok();
    }

    [Fact]
    public async Task An_agent_is_created_with_capabilities_and_listed_by_one()
    {
        var name = "cli-caps-" + Guid.NewGuid().ToString("N")[..6];
        var created = (await fixture.OperatorAsync("agents", "create", name, "--external", "--capability", "cli-review", "--capability", "code", "--json")).Ok().Json;
        Assert.Equal(["cli-review", "code"], created.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        try
        {
            var found = (await fixture.OperatorAsync("agents", "--capability", "cli-review", "--json")).Ok().Json;
            Assert.Equal([name], found.EnumerateArray().Select(a => a.GetProperty("name").GetString()));
            var table = (await fixture.OperatorAsync("agents", "--capability", "cli-review")).Ok().Stdout;
            Assert.Contains("CAPABILITIES", table);
            Assert.Contains("cli-review,code", table);
            (await fixture.OperatorAsync("agents", "--capability", "Not-A-Name", "--json")).Refused("validation");
            (await fixture.OperatorAsync("agents", "create", name + "-x", "--external", "--capability", "code", "--capability", "code", "--json")).Refused("validation");
        }
        finally
        {
            (await fixture.OperatorAsync("agents", "destroy", name)).Ok();
        }
    }

    [Fact]
    public async Task An_agent_is_created_with_its_own_caps_and_a_cap_out_of_bounds_is_refused()
    {
        var name = "cli-cap-" + Guid.NewGuid().ToString("N")[..6];
        (await fixture.OperatorAsync("agents", "create", name, "--driver", "process", "--memory-mib", "8", "--json", "--", "/bin/sh", "-c", "exec sleep 600"))
            .Refused("validation");
        var created = (await fixture.OperatorAsync("agents", "create", name, "--driver", "process", "--memory-mib", "96", "--pids", "50", "--json",
            "--", "/bin/sh", "-c", "exec sleep 600")).Ok().Json;
        try
        {
            var config = (await _hive.GetJsonAsync($"/api/agents/{name}/config")).GetProperty("config").GetProperty("limits");
            Assert.Equal("""{"memory_mib":96,"pids":50}""", config.GetRawText());
            if (created.GetProperty("limits").ValueKind == JsonValueKind.Object)
                Assert.Equal(96, created.GetProperty("limits").GetProperty("memory_mib").GetInt32());
        }
        finally
        {
            (await fixture.OperatorAsync("agents", "destroy", name)).Ok();
        }
    }

    private string? StateOf(string name) =>
        _hive.GetJsonAsync("/api/agents").GetAwaiter().GetResult().EnumerateArray()
            .FirstOrDefault(a => a.GetProperty("name").GetString() == name) is { ValueKind: JsonValueKind.Object } row
            ? row.GetProperty("state").GetString()
            : null;
}
