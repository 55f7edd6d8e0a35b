using Hive.Contracts.Json;
using Hive.Contracts.Questions;
using Hive.Contracts.Work;
using Hive.Features.Work;
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

        var first = await _hive.NewTicketAsync(new { title = "first", workflow, priority = 1 });
        await HiveInstance.Until(() => _hive.QueryDb<string>("SELECT phase FROM tickets WHERE id = @first", new { first }) == "build");
        var second = await _hive.NewTicketAsync(new { title = "second", workflow });

        // The operator's move into the full column is refused with the limit; the board leaves it in the backlog.
        var (status, problem) = await _hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{second}/move", new { to = "build" });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("build is at its WIP limit (1)", Problem.Of(problem).Detail);
        Assert.Equal("backlog", (await _hive.TicketViewAsync(second)).Phase);

        // The first is worked and leaves build: the second is pulled in and offered.
        var offered = OfferedTicket(await NextOfferAsync(a, 5) ?? await NextOfferAsync(b, 5) ?? throw new Xunit.Sdk.XunitException("no offer"));
        Assert.Equal(first, offered);
        var holder = (await _hive.TicketViewAsync(first)).OfferedTo == one ? a : b;
        await holder.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(first));
        Assert.Equal("backlog", (await _hive.TicketViewAsync(second)).Phase);
        await holder.CallAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(first, null, "built", null, null));

        await HiveInstance.Until(() => _hive.QueryDb<string>("SELECT phase FROM tickets WHERE id = @second", new { second }) == "build",
            what: "the second ticket pulled into build");
        var history = (await _hive.DetailAsync(second)).History.Last();
        Assert.Equal(("build", "board"), (history.ToPhase, history.MovedBy));
        await HiveInstance.Until(() => _hive.QueryDb<string?>("SELECT offered_to FROM tickets WHERE id = @second", new { second }) is not null);
    }

    [Fact]
    public async Task A_ticket_waits_in_the_backlog_until_the_tickets_it_depends_on_are_done()
    {
        var capability = Capability();
        var workflow = await WorkflowAsync(capability, wip: 5);
        var agent = await _hive.NewAgentAsync("deps", capability);
        await using var a = await _hive.ConnectAsync(agent);
        var first = await _hive.NewTicketAsync(new { title = "schema", workflow });
        var second = await _hive.NewTicketAsync(new { title = "api", workflow, priority = 100, depends_on = new[] { first } });

        // Higher priority, but waiting: only the first is pulled and offered.
        Assert.Equal(first, OfferedTicket(await NextOfferAsync(a) ?? throw new Xunit.Sdk.XunitException("no offer")));
        var waiting = await _hive.TicketViewAsync(second);
        Assert.Equal("backlog", waiting.Phase);
        Assert.Equal([first], waiting.WaitingOn);
        // A dependency that would close a cycle is refused, and nothing changes.
        var (status, problem) = await _hive.SendJsonAsync(HttpMethod.Patch, $"/api/tickets/{first}", new { depends_on = new[] { second } });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("cycle", Problem.Of(problem).Detail);
        Assert.Empty((await _hive.TicketViewAsync(first)).DependsOn);

        await a.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(first));
        await a.CallAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(first, null, "done", null, null));
        Assert.True((await _hive.TicketViewAsync(first)).Done);
        Assert.Equal(second, OfferedTicket(await NextOfferAsync(a) ?? throw new Xunit.Sdk.XunitException("the dependent ticket was never offered")));
        Assert.Empty((await _hive.TicketViewAsync(second)).WaitingOn);
    }

    [Fact]
    public async Task Discover_links_a_new_ticket_to_its_parent_with_the_reason_and_block_waits_for_the_answer()
    {
        var capability = Capability();
        var workflow = await WorkflowAsync(capability, wip: 5);
        var agent = await _hive.NewAgentAsync("finder", capability);
        await using var a = await _hive.ConnectAsync(agent);
        var parent = await _hive.NewTicketAsync(new { title = "port the parser", workflow });
        Assert.Equal(parent, OfferedTicket(await NextOfferAsync(a) ?? throw new Xunit.Sdk.XunitException("no offer")));
        await a.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(parent));

        var child = (await a.CallAsync(WorkVerbs.TicketDiscover, new TicketDiscoverArgs(parent, "the lexer drops tabs", null, "found while porting", null, null))).Ticket;
        Assert.Equal((parent, "found while porting", workflow), (child.ParentId, child.DiscoveryReason, child.Workflow));
        var children = (await _hive.DetailAsync(parent)).Children.Select(c => c.Id);
        Assert.Equal([child.Id], children);
        // Only the holder of the parent discovers from it.
        var stranger = await _hive.NewAgentAsync("stranger", capability);
        await using (var s = await _hive.ConnectAsync(stranger))
            Assert.Equal("forbidden", (await s.RefusalOfAsync(WorkVerbs.TicketDiscover, new TicketDiscoverArgs(parent, "x", null, "y", null, null))).Code);

        // Blocked: shown in its column, marked, unmovable until the operator answers; then back with its holder.
        var blocked = (await a.CallAsync(WorkVerbs.TicketBlock, new TicketBlockArgs(parent, "tabs or spaces?", null, null))).Ticket;
        Assert.Equal(("blocked", "build", true), (blocked.Phase, blocked.Column, blocked.Blocked));
        Assert.Equal("conflict", (await a.RefusalOfAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(parent, null, "x", null, null))).Code);
        var question = blocked.BlockedQuestionId!.Value;
        var (status, _) = await _hive.SendJsonAsync(HttpMethod.Post, $"/api/questions/{question}/answer", new { answer = "tabs" });
        Assert.Equal(HttpStatusCode.OK, status);
        var back = await _hive.TicketViewAsync(parent);
        Assert.Equal(("build", agent, false), (back.Phase, back.Assignee, back.Blocked));
        Assert.Contains((await _hive.DetailAsync(parent)).Notes, n => n.Text.EndsWith(": tabs"));
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
        Assert.Contains("line 6:", Problem.Of(problem).Detail);
        Assert.Contains("wip_limit", Problem.Of(problem).Detail);

        // The same text committed to the meta repo by hand: refused at the reload with its line, the old version kept.
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "meta", "workflows", workflow + ".yaml"), bad.Replace("wip_limit: lots", "wip_limit: 1\n    needs: [x]\n    oops: 1"));
        var reloaded = (await _hive.SendJsonAsync(HttpMethod.Post, "/api/workflows/reload", new { })).Body.Deserialize<WorkflowsView>(HiveJson.Options)!;
        var error = reloaded.Errors.Single(e => e.File == workflow + ".yaml");
        Assert.True(error.Kept);
        Assert.Equal(8, error.Line);
        var kept = reloaded.Workflows.Single(w => w.Name == workflow);
        Assert.Equal(capability, kept.Phases[1].Needs[0]);
        File.Delete(Path.Combine(_hive.DataDir, "meta", "workflows", workflow + ".yaml"));
    }

    [Fact]
    public async Task A_commit_of_an_agents_file_leaves_the_workflows_be_and_a_reload_loads_a_hand_edit()
    {
        var capability = Capability();
        var workflow = await WorkflowAsync(capability, wip: 1);
        var file = Path.Combine(_hive.DataDir, "meta", "workflows", workflow + ".yaml");
        await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(file)).Replace("wip_limit: 1", "wip_limit: 3"));
        static int? WipOf(WorkflowsView view, string name) => view.Workflows.Single(w => w.Name == name).Phases[1].WipLimit;

        // A create commits the agent's file to the meta repo and publishes that commit before it answers; the workflows are
        // not read again for it (a fleet's creates each made one reload of every file).
        var agent = $"edits-{Guid.NewGuid().ToString("N")[..6]}";
        await _hive.Service<MediatR.IMediator>().Send(new Hive.Features.Containers.CreateAgent.Command(agent, ["sleep", "100000"], Driver: "process"));
        try
        {
            Assert.Contains(await _hive.Service<Hive.Features.Containers.MetaRepo>().LogAsync(5), c => c.Message.Contains($"{agent}: spawned", StringComparison.Ordinal));
            Assert.Equal(1, WipOf(await _hive.GetAsync<WorkflowsView>("/api/workflows"), workflow));
        }
        finally
        {
            using var destroyed = await _hive.Http.DeleteAsync($"/api/agents/{agent}");
            Assert.True(destroyed.IsSuccessStatusCode, $"destroy {agent}: {(int)destroyed.StatusCode}");
        }

        var reloaded = (await _hive.SendJsonAsync(HttpMethod.Post, "/api/workflows/reload", new { })).Body.Deserialize<WorkflowsView>(HiveJson.Options)!;
        Assert.Equal(3, WipOf(reloaded, workflow));
    }

    [Fact]
    public async Task A_paused_agent_is_not_offered_work_until_the_governor_lets_it_go()
    {
        var capability = Capability();
        var workflow = await WorkflowAsync(capability, wip: 5);
        var agent = await _hive.NewAgentAsync("held", capability);
        await using var a = await _hive.ConnectAsync(agent);
        Assert.Equal(HttpStatusCode.OK, (await _hive.SendJsonAsync(HttpMethod.Post, $"/api/governance/agents/{agent}/pause", new { })).Status);

        var id = await _hive.NewTicketAsync(new { title = "wait for me", workflow });
        var board = _hive.Service<Hive.Features.Work.Board>();
        // A round that began after the ticket was made: the one its creation poked may have been under way already.
        var rounds = board.Rounds;
        await HiveInstance.Until(() => board.Rounds >= rounds + 1, TimeSpan.FromSeconds(60), "a dispatch round after the ticket");
        board.Poke();
        await HiveInstance.Until(() => board.Rounds >= rounds + 2, TimeSpan.FromSeconds(60), "a second dispatch round after the ticket");
        Assert.Equal("build", (await _hive.TicketViewAsync(id)).Phase);
        Assert.Equal(JsonValueKind.Null, (await _hive.TicketAsync(id)).GetProperty("offered_to").ValueKind); // present and null: the raw JSON says so, a record would not

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
        var id = await _hive.NewTicketAsync(new { title = "reviewed work", workflow });
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(w) ?? throw new Xunit.Sdk.XunitException("no offer")));
        await w.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
        await w.CallAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(id, null, "first try", null, null));

        // The maker has the review capability too, but never reviews its own work.
        var ask = await NextMessageAsync(r, 10_000, "no review for the checker");
        Assert.Equal("ticket_review", ask.Kind);
        // The review's question is one of the extra fields a system message carries (no record names them).
        var question = ask.Extra!["question_id"].GetInt64();
        await r.CallAsync(QuestionVerbs.Answer, new AnswerArgs(question, "changes: add a test"));

        var back = await _hive.TicketViewAsync(id);
        Assert.Equal("build", back.Phase);
        Assert.Equal($"changes: add a test", back.Context.Last().Summary);
        var refusal = (await _hive.DetailAsync(id)).History.Last().Gate!;
        Assert.False(refusal.Passed);
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(w) ?? throw new Xunit.Sdk.XunitException("not offered again")));
        await w.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
        await w.CallAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(id, null, "with a test", null, null));
        var again = await NextMessageAsync(r, 10_000, "no second review");
        await r.CallAsync(QuestionVerbs.Answer, new AnswerArgs(again.Extra!["question_id"].GetInt64(), "approve"));
        Assert.True((await _hive.TicketViewAsync(id)).Done);
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
        var (first, second) = (await _hive.NewTicketAsync(new { title = "check me", workflow }),
            await _hive.NewTicketAsync(new { title = "check me too", workflow }));
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM tickets WHERE id IN (@first, @second) AND review_question_id IS NOT NULL",
            new { first, second }) == 2, TimeSpan.FromSeconds(20), "both reviews asked");
        for (var round = 0; round < 3; round++) await _hive.Service<MediatR.IMediator>().Send(new Hive.Features.Work.Dispatch.Command());

        foreach (var id in new[] { first, second })
        {
            var ticket = await _hive.TicketViewAsync(id);
            Assert.Equal("check", ticket.Phase);
            Assert.Equal("operator", ticket.Review!.Reviewer);
        }
        Assert.Null(await agent.RecvAsync(200));

        // The operator's two ways: answer the review question, or move the card.
        var question = (await _hive.TicketViewAsync(first)).Review!.QuestionId;
        var (answered, answer) = await _hive.SendJsonAsync(HttpMethod.Post, $"/api/questions/{question}/answer", new { answer = "approve" });
        Assert.True(answered == HttpStatusCode.OK, answer.ToString());
        Assert.True((await _hive.TicketViewAsync(first)).Done);
        var (moved, body) = await _hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{second}/move", new { to = "done" });
        Assert.True(moved == HttpStatusCode.OK, body.ToString());
        Assert.True((await _hive.TicketViewAsync(second)).Done);
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
        static IReadOnlyList<string> WarningsOf(IEnumerable<Workflow> workflows, string name) => workflows.Single(w => w.Name == name).Warnings;
        var warning = Assert.Single(WarningsOf(view.Deserialize<WorkflowsView>(HiveJson.Options)!.Workflows, workflow));
        Assert.Contains("phase 'check' has neither needs nor reviewed_by", warning);
        Assert.Contains("reviewed_by: operator", warning);
        // The same on GET /api/workflows and in /api/state (the board's view); the backlog and a worked phase warn of nothing.
        Assert.Equal([warning], WarningsOf((await _hive.GetAsync<WorkflowsView>("/api/workflows")).Workflows, workflow));
        Assert.Equal([warning], WarningsOf((await _hive.GetJsonAsync("/api/state")).GetProperty("work").GetProperty("workflows").Deserialize<List<Workflow>>(HiveJson.Options)!, workflow));
    }
}
