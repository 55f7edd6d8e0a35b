using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// The board's rules, each test on a workflow of its own (its own capability, so only its own agents are offered its
/// tickets): a WIP limit refuses a move and pulls the next ticket when one leaves; dependencies hold a ticket back;
/// a discovery links its child; a blocked ticket waits for its answer; a malformed workflow is refused with its line.
/// </summary>
public sealed class BoardTests(HiveFixture fixture) : SharedHiveTests(fixture), IClassFixture<HiveFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    /// <summary>backlog → build (worked by <paramref name="capability"/>, WIP <paramref name="wip"/>) → done, with a blocked side phase.</summary>
    private async Task<string> WorkflowAsync(string capability, int wip = 1)
    {
        var name = $"wf_{Guid.NewGuid().ToString("N")[..8]}";
        await _hive.PutWorkflowAsync(name, $"""
            name: {name}
            phases:
              - name: backlog
                allowed_transitions: [build]
              - name: build
                needs: [{capability}]
                wip_limit: {wip}
                prompt: Build it.
                expected_outputs:
                  - kind: note
                allowed_transitions: [done, blocked]
              - name: done
                terminal: true
              - name: blocked
                side: true
            """);
        return name;
    }

    private static string Capability() => $"cap-{Guid.NewGuid().ToString("N")[..8]}";

    [Fact]
    public async Task A_full_column_refuses_a_move_with_its_limit_and_pulls_the_next_ticket_when_one_leaves()
    {
        var capability = Capability();
        var workflow = await WorkflowAsync(capability, wip: 1);
        var (one, two) = (await _hive.NewAgentAsync("one", capability), await _hive.NewAgentAsync("two", capability));
        await using var a = await _hive.ConnectAsync(one);
        await using var b = await _hive.ConnectAsync(two);

        var first = (await _hive.CreateTicketAsync(new { title = "first", workflow, priority = 1 })).GetProperty("id").GetInt64();
        await HiveInstance.Until(() => _hive.QueryDb<string>("SELECT phase FROM tickets WHERE id = @first", new { first }) == "build");
        var second = (await _hive.CreateTicketAsync(new { title = "second", workflow })).GetProperty("id").GetInt64();

        // The operator's move into the full column is refused with the limit; the board leaves it in the backlog.
        var (status, problem) = await _hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{second}/move", new { to = "build" });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("build is at its WIP limit (1)", problem.GetProperty("detail").GetString());
        Assert.Equal("backlog", (await _hive.TicketAsync(second)).GetProperty("phase").GetString());

        // The first is worked and leaves build: the second is pulled in and offered.
        var offered = OfferedTicket(await NextOfferAsync(a, 5) ?? await NextOfferAsync(b, 5) ?? throw new Xunit.Sdk.XunitException("no offer"));
        Assert.Equal(first, offered);
        var holder = (await _hive.TicketAsync(first)).GetProperty("offered_to").GetString() == one ? a : b;
        Ok(await holder.CallAsync(new { op = "ticket_claim", id = first }));
        Assert.Equal("backlog", (await _hive.TicketAsync(second)).GetProperty("phase").GetString());
        Ok(await holder.CallAsync(new { op = "ticket_submit", id = first, summary = "built" }));

        await HiveInstance.Until(() => _hive.QueryDb<string>("SELECT phase FROM tickets WHERE id = @second", new { second }) == "build",
            what: "the second ticket pulled into build");
        var history = (await _hive.GetJsonAsync($"/api/tickets/{second}")).GetProperty("history").EnumerateArray().Last();
        Assert.Equal(("build", "board"), (history.GetProperty("to_phase").GetString(), history.GetProperty("moved_by").GetString()));
        await HiveInstance.Until(() => _hive.QueryDb<string?>("SELECT offered_to FROM tickets WHERE id = @second", new { second }) is not null);
    }

    [Fact]
    public async Task A_ticket_waits_in_the_backlog_until_the_tickets_it_depends_on_are_done()
    {
        var capability = Capability();
        var workflow = await WorkflowAsync(capability, wip: 5);
        var agent = await _hive.NewAgentAsync("deps", capability);
        await using var a = await _hive.ConnectAsync(agent);
        var first = (await _hive.CreateTicketAsync(new { title = "schema", workflow })).GetProperty("id").GetInt64();
        var second = (await _hive.CreateTicketAsync(new { title = "api", workflow, priority = 100, depends_on = new[] { first } })).GetProperty("id").GetInt64();

        // Higher priority, but waiting: only the first is pulled and offered.
        Assert.Equal(first, OfferedTicket(await NextOfferAsync(a) ?? throw new Xunit.Sdk.XunitException("no offer")));
        var waiting = await _hive.TicketAsync(second);
        Assert.Equal("backlog", waiting.GetProperty("phase").GetString());
        Assert.Equal([first], waiting.GetProperty("waiting_on").EnumerateArray().Select(e => e.GetInt64()));
        // A dependency that would close a cycle is refused, and nothing changes.
        var (status, problem) = await _hive.SendJsonAsync(HttpMethod.Patch, $"/api/tickets/{first}", new { depends_on = new[] { second } });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("cycle", problem.GetProperty("detail").GetString());
        Assert.Empty((await _hive.TicketAsync(first)).GetProperty("depends_on").EnumerateArray());

        Ok(await a.CallAsync(new { op = "ticket_claim", id = first }));
        Ok(await a.CallAsync(new { op = "ticket_submit", id = first, summary = "done" }));
        Assert.True((await _hive.TicketAsync(first)).GetProperty("done").GetBoolean());
        Assert.Equal(second, OfferedTicket(await NextOfferAsync(a) ?? throw new Xunit.Sdk.XunitException("the dependent ticket was never offered")));
        Assert.Empty((await _hive.TicketAsync(second)).GetProperty("waiting_on").EnumerateArray());
    }

    [Fact]
    public async Task Discover_links_a_new_ticket_to_its_parent_with_the_reason_and_block_waits_for_the_answer()
    {
        var capability = Capability();
        var workflow = await WorkflowAsync(capability, wip: 5);
        var agent = await _hive.NewAgentAsync("finder", capability);
        await using var a = await _hive.ConnectAsync(agent);
        var parent = (await _hive.CreateTicketAsync(new { title = "port the parser", workflow })).GetProperty("id").GetInt64();
        Assert.Equal(parent, OfferedTicket(await NextOfferAsync(a) ?? throw new Xunit.Sdk.XunitException("no offer")));
        Ok(await a.CallAsync(new { op = "ticket_claim", id = parent }));

        var child = Ok(await a.CallAsync(new { op = "ticket_discover", parent, title = "the lexer drops tabs", reason = "found while porting" })).GetProperty("ticket");
        Assert.Equal((parent, "found while porting", workflow),
            (child.GetProperty("parent_id").GetInt64(), child.GetProperty("discovery_reason").GetString(), child.GetProperty("workflow").GetString()));
        var children = (await _hive.GetJsonAsync($"/api/tickets/{parent}")).GetProperty("children").EnumerateArray().Select(c => c.GetProperty("id").GetInt64());
        Assert.Equal([child.GetProperty("id").GetInt64()], children);
        // Only the holder of the parent discovers from it.
        var stranger = await _hive.NewAgentAsync("stranger", capability);
        await using (var s = await _hive.ConnectAsync(stranger))
            Refused(await s.CallAsync(new { op = "ticket_discover", parent, title = "x", reason = "y" }), "forbidden");

        // Blocked: shown in its column, marked, unmovable until the operator answers; then back with its holder.
        var blocked = Ok(await a.CallAsync(new { op = "ticket_block", id = parent, question = "tabs or spaces?" })).GetProperty("ticket");
        Assert.Equal(("blocked", "build", true), (blocked.GetProperty("phase").GetString(), blocked.GetProperty("column").GetString(), blocked.GetProperty("blocked").GetBoolean()));
        Refused(await a.CallAsync(new { op = "ticket_submit", id = parent, summary = "x" }), "conflict");
        var question = blocked.GetProperty("blocked_question_id").GetInt64();
        var (status, _) = await _hive.SendJsonAsync(HttpMethod.Post, $"/api/questions/{question}/answer", new { answer = "tabs" });
        Assert.Equal(HttpStatusCode.OK, status);
        var back = await _hive.TicketAsync(parent);
        Assert.Equal(("build", agent, false), (back.GetProperty("phase").GetString(), back.GetProperty("assignee").GetString(), back.GetProperty("blocked").GetBoolean()));
        Assert.Contains((await _hive.GetJsonAsync($"/api/tickets/{parent}")).GetProperty("notes").EnumerateArray(), n => n.GetProperty("text").GetString()!.EndsWith(": tabs"));
    }

    [Fact]
    public async Task A_malformed_workflow_is_refused_with_its_line_and_the_last_good_version_keeps_running()
    {
        var capability = Capability();
        var workflow = await WorkflowAsync(capability);
        var bad = $"""
            name: {workflow}
            phases:
              - name: backlog
                allowed_transitions: [build]
              - name: build
                wip_limit: lots
            """;
        var (status, problem) = await _hive.SendJsonAsync(HttpMethod.Put, $"/api/workflows/{workflow}", new { yaml = bad });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("line 6:", problem.GetProperty("detail").GetString());
        Assert.Contains("wip_limit", problem.GetProperty("detail").GetString());

        // The same text committed to the meta repo by hand: refused at the reload with its line, the old version kept.
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "meta", "workflows", workflow + ".yaml"), bad.Replace("wip_limit: lots", "wip_limit: 1\n    needs: [x]\n    oops: 1"));
        var reloaded = (await _hive.SendJsonAsync(HttpMethod.Post, "/api/workflows/reload", new { })).Body;
        var error = reloaded.GetProperty("errors").EnumerateArray().Single(e => e.GetProperty("file").GetString() == workflow + ".yaml");
        Assert.True(error.GetProperty("kept").GetBoolean());
        Assert.Equal(8, error.GetProperty("line").GetInt64());
        var kept = reloaded.GetProperty("workflows").EnumerateArray().Single(w => w.GetProperty("name").GetString() == workflow);
        Assert.Equal(capability, kept.GetProperty("phases")[1].GetProperty("needs")[0].GetString());
        File.Delete(Path.Combine(_hive.DataDir, "meta", "workflows", workflow + ".yaml"));
    }

    [Fact]
    public async Task A_paused_agent_is_not_offered_work_until_the_governor_lets_it_go()
    {
        var capability = Capability();
        var workflow = await WorkflowAsync(capability, wip: 5);
        var agent = await _hive.NewAgentAsync("held", capability);
        await using var a = await _hive.ConnectAsync(agent);
        Assert.Equal(HttpStatusCode.OK, (await _hive.SendJsonAsync(HttpMethod.Post, $"/api/governance/agents/{agent}/pause", new { })).Status);

        var id = (await _hive.CreateTicketAsync(new { title = "wait for me", workflow })).GetProperty("id").GetInt64();
        var board = _hive.Service<Hive.Features.Work.Board>();
        // A round that began after the ticket was made: the one its creation poked may have been under way already.
        var rounds = board.Rounds;
        await HiveInstance.Until(() => board.Rounds >= rounds + 1, TimeSpan.FromSeconds(60), "a dispatch round after the ticket");
        board.Poke();
        await HiveInstance.Until(() => board.Rounds >= rounds + 2, TimeSpan.FromSeconds(60), "a second dispatch round after the ticket");
        Assert.Equal("build", (await _hive.TicketAsync(id)).GetProperty("phase").GetString());
        Assert.Equal(JsonValueKind.Null, (await _hive.TicketAsync(id)).GetProperty("offered_to").ValueKind);

        Assert.Equal(HttpStatusCode.OK, (await _hive.SendJsonAsync(HttpMethod.Post, $"/api/governance/agents/{agent}/resume", new { })).Status);
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(a) ?? throw new Xunit.Sdk.XunitException("no offer after the resume")));
    }

    [Fact]
    public async Task A_review_asking_for_changes_sends_the_ticket_back_with_the_comments_and_an_approval_ends_it()
    {
        var (work, review) = (Capability(), Capability());
        var workflow = $"wf_{Guid.NewGuid().ToString("N")[..8]}";
        await _hive.PutWorkflowAsync(workflow, $"""
            name: {workflow}
            phases:
              - name: backlog
                allowed_transitions: [build]
              - name: build
                needs: [{work}]
                allowed_transitions: [check]
              - name: check
                reviewed_by: {review}
                allowed_transitions: [done, build]
              - name: done
                terminal: true
            """);
        var (worker, reviewer) = (await _hive.NewAgentAsync("maker", work, review), await _hive.NewAgentAsync("checker", review));
        await using var w = await _hive.ConnectAsync(worker);
        await using var r = await _hive.ConnectAsync(reviewer);
        var id = (await _hive.CreateTicketAsync(new { title = "reviewed work", workflow })).GetProperty("id").GetInt64();
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(w) ?? throw new Xunit.Sdk.XunitException("no offer")));
        Ok(await w.CallAsync(new { op = "ticket_claim", id }));
        Ok(await w.CallAsync(new { op = "ticket_submit", id, summary = "first try" }));

        // The maker has the review capability too, but never reviews its own work.
        var ask = await r.RecvAsync(10_000) ?? throw new Xunit.Sdk.XunitException("no review for the checker");
        await r.AckAsync(ask.GetProperty("id").GetInt64());
        Assert.Equal("ticket_review", ask.GetProperty("kind").GetString());
        var question = ask.GetProperty("question_id").GetInt64();
        Ok(await r.CallAsync(new { op = "answer", id = question, answer = "changes: add a test" }));

        var back = await _hive.TicketAsync(id);
        Assert.Equal("build", back.GetProperty("phase").GetString());
        Assert.Equal($"changes: add a test", back.GetProperty("context").EnumerateArray().Last().GetProperty("summary").GetString());
        var refusal = (await _hive.GetJsonAsync($"/api/tickets/{id}")).GetProperty("history").EnumerateArray().Last().GetProperty("gate");
        Assert.False(refusal.GetProperty("passed").GetBoolean());
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(w) ?? throw new Xunit.Sdk.XunitException("not offered again")));
        Ok(await w.CallAsync(new { op = "ticket_claim", id }));
        Ok(await w.CallAsync(new { op = "ticket_submit", id, summary = "with a test" }));
        var again = await r.RecvAsync(10_000) ?? throw new Xunit.Sdk.XunitException("no second review");
        await r.AckAsync(again.GetProperty("id").GetInt64());
        Ok(await r.CallAsync(new { op = "answer", id = again.GetProperty("question_id").GetInt64(), answer = "approve" }));
        Assert.True((await _hive.TicketAsync(id)).GetProperty("done").GetBoolean());
    }
    [Fact]
    public async Task A_phase_reviewed_by_the_operator_holds_its_ticket_until_the_operator_acts_even_beside_an_agent_with_that_capability()
    {
        var workflow = $"wf_{Guid.NewGuid().ToString("N")[..8]}";
        await _hive.PutWorkflowAsync(workflow, $"""
            name: {workflow}
            phases:
              - name: backlog
                allowed_transitions: [check]
              - name: check
                reviewed_by: operator
                allowed_transitions: [done]
              - name: done
                terminal: true
            """);
        // An agent given a capability named "operator" is up and idle: it must not be asked.
        var lookalike = await _hive.NewAgentAsync("lookalike", "operator");
        await using var agent = await _hive.ConnectAsync(lookalike);
        var (first, second) = ((await _hive.CreateTicketAsync(new { title = "check me", workflow })).GetProperty("id").GetInt64(),
            (await _hive.CreateTicketAsync(new { title = "check me too", workflow })).GetProperty("id").GetInt64());
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM tickets WHERE id IN (@first, @second) AND review_question_id IS NOT NULL",
            new { first, second }) == 2, TimeSpan.FromSeconds(20), "both reviews asked");
        for (var round = 0; round < 3; round++) await _hive.Service<MediatR.IMediator>().Send(new Hive.Features.Work.Dispatch.Command());

        foreach (var id in new[] { first, second })
        {
            var ticket = await _hive.TicketAsync(id);
            Assert.Equal("check", ticket.GetProperty("phase").GetString());
            Assert.Equal("operator", ticket.GetProperty("review").GetProperty("reviewer").GetString());
        }
        Assert.Null(await agent.RecvAsync(200));

        // The operator's two ways: answer the review question, or move the card.
        var question = (await _hive.TicketAsync(first)).GetProperty("review").GetProperty("question_id").GetInt64();
        var (answered, answer) = await _hive.SendJsonAsync(HttpMethod.Post, $"/api/questions/{question}/answer", new { answer = "approve" });
        Assert.True(answered == HttpStatusCode.OK, answer.ToString());
        Assert.True((await _hive.TicketAsync(first)).GetProperty("done").GetBoolean());
        var (moved, body) = await _hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{second}/move", new { to = "done" });
        Assert.True(moved == HttpStatusCode.OK, body.ToString());
        Assert.True((await _hive.TicketAsync(second)).GetProperty("done").GetBoolean());
    }

    [Fact]
    public async Task A_workflow_with_a_phase_tickets_pass_through_loads_with_a_warning_on_the_workflows_view()
    {
        var workflow = $"wf_{Guid.NewGuid().ToString("N")[..8]}";
        var (status, view) = await _hive.SendJsonAsync(HttpMethod.Put, $"/api/workflows/{workflow}", new
        {
            yaml = $"""
                name: {workflow}
                phases:
                  - name: backlog
                    allowed_transitions: [build]
                  - name: build
                    needs: [{Capability()}]
                    allowed_transitions: [check]
                  - name: check
                    allowed_transitions: [done]
                  - name: done
                    terminal: true
                """,
        });
        Assert.True(status == HttpStatusCode.OK, view.ToString());
        static string[] WarningsOf(JsonElement workflows, string name) =>
            [.. workflows.EnumerateArray().Single(w => w.GetProperty("name").GetString() == name).GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!)];
        var warning = Assert.Single(WarningsOf(view.GetProperty("workflows"), workflow));
        Assert.Contains("phase 'check' has neither needs nor reviewed_by", warning);
        Assert.Contains("reviewed_by: operator", warning);
        // The same on GET /api/workflows and in /api/state (the board's view); the backlog and a worked phase warn of nothing.
        Assert.Equal([warning], WarningsOf((await _hive.GetJsonAsync("/api/workflows")).GetProperty("workflows"), workflow));
        Assert.Equal([warning], WarningsOf((await _hive.GetJsonAsync("/api/state")).GetProperty("work").GetProperty("workflows"), workflow));
    }
}
