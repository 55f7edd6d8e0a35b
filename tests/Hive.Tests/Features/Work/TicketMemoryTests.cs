using Hive.Contracts.Work;
using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// The memory of finished tickets, as agents use it over their sockets: three tickets finished through the real verbs, each
/// with its summary and files; a fourth like one of them is claimed, and its brief names that one first with its outcome,
/// and the operator's notes for the workflow; <c>ticket_memory</c> (and the operator's route) finds it. Bad input is
/// refused and changes nothing.
/// </summary>
public sealed class TicketMemoryTests(HiveFixture fixture) : SharedHiveTests(fixture), IClassFixture<HiveFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    /// <summary>backlog → build (worked by <paramref name="capability"/>, a note expected) → done.</summary>
    private async Task<string> WorkflowAsync(string capability)
    {
        var name = $"wf_{Guid.NewGuid().ToString("N")[..8]}";
        await _hive.PutWorkflowAsync(name, $"""
            name: {name}
            phases:
              - name: backlog
                allowed_transitions: [build]
              - name: build
                needs: [{capability}]
                wip_limit: 5
                prompt: Build it.
                expected_outputs:
                  - kind: note
                allowed_transitions: [done]
              - name: done
                terminal: true
            """);
        return name;
    }

    /// <summary>A new ticket of <paramref name="workflow"/>, offered to the worker and claimed: the claim's reply (the brief).</summary>
    private async Task<TicketDetail> ClaimNewAsync(AgentClient worker, string workflow, string title, string body, params string[] labels)
    {
        var id = await _hive.NewTicketAsync(new { title, body, workflow, labels });
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(worker, 30) ?? throw new Xunit.Sdk.XunitException($"no offer of ticket {id}")));
        return await worker.CallAsync(WorkVerbs.TicketClaim, new TicketIdArgs(id));
    }

    private async Task<long> FinishNewAsync(AgentClient worker, string workflow, string title, string body, string summary, string file)
    {
        var id = (await ClaimNewAsync(worker, workflow, title, body)).Ticket.Id;
        var submitted = await worker.CallAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(id,
            [new OutputValue("note", "built and checked"), new OutputValue("file", file)], summary, null, null));
        Assert.True(submitted.Ticket.Done, $"ticket {id} is in {submitted.Ticket.Phase}");
        return id;
    }

    [Fact]
    public async Task A_claimed_tickets_brief_names_the_most_similar_finished_ticket_and_its_outcome_and_the_memory_verb_finds_it()
    {
        var capability = $"cap-{Guid.NewGuid().ToString("N")[..8]}";
        var workflow = await WorkflowAsync(capability);
        var token = $"zq{Guid.NewGuid().ToString("N")[..8]}"; // a word no other test's ticket has
        var notes = "Run the parser's fuzz corpus before you submit.\nAsk Dana about the legacy keys.\n";
        Directory.CreateDirectory(Path.Combine(_hive.DataDir, "meta", "notes"));
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "meta", "notes", workflow + ".md"), notes);
        var name = await _hive.NewAgentAsync("rememberer", capability);
        await using var worker = await _hive.ConnectAsync(name);

        var parser = await FinishNewAsync(worker, workflow, $"Parse the {token} config file", "The config parser must reject unknown keys.",
            "Rewrote ConfigParser as a table of known keys; unknown keys are an error naming the line.", "src/ConfigParser.cs");
        var chart = await FinishNewAsync(worker, workflow, $"Draw the {token} latency chart", "A chart of p50 and p99 on the dashboard.",
            "Added a canvas chart fed by the stats stream.", "web/chart.js");
        var logs = await FinishNewAsync(worker, workflow, $"Rotate the {token} log archive", "Old logs fill the disk.",
            "Logs rotate daily and keep seven days.", "src/LogRotation.cs");

        var brief = await ClaimNewAsync(worker, workflow, $"Config parser: {token} keys with dots", "The config parser rejects keys with dots in them.", "config");
        var first = brief.Similar![0];
        Assert.Equal((parser, $"Parse the {token} config file", workflow), (first.Id, first.Title, first.Workflow));
        Assert.Equal("Rewrote ConfigParser as a table of known keys; unknown keys are an error naming the line.", first.Summary);
        Assert.Equal(["src/ConfigParser.cs"], first.Files);
        Assert.Equal($"/tickets/{parser}", first.Link);
        Assert.Null(first.CostUsd); // Hive meters no ticket's spend yet
        Assert.Equal(name, first.FinishedBy);
        Assert.Contains(first.Gates, g => g is { From: "build", To: "done", Passed: true });
        Assert.True(brief.Similar.Count <= 3, $"{brief.Similar.Count} similar tickets");
        Assert.Equal(notes, brief.WorkflowNotes);
        // The brief is the claim's: the ticket as shown carries neither.
        var shown = await worker.CallAsync(new { op = "ticket_show", id = brief.Ticket.Id });
        Assert.False(shown.TryGetProperty("similar", out _));
        Assert.False(shown.TryGetProperty("workflow_notes", out _));

        var found = await worker.CallAsync(WorkVerbs.TicketMemory, new TicketMemoryArgs($"{token} chart latency", null));
        Assert.Equal(chart, found.Outcomes[0].Id);
        Assert.Equal(["web/chart.js"], found.Outcomes[0].Files);
        var rotation = await worker.CallAsync(WorkVerbs.TicketMemory, new TicketMemoryArgs("rotate logs seven days", 1));
        Assert.Equal([logs], rotation.Outcomes.Select(o => o.Id));
        // A quote, a star and FTS words in what is typed are words, not syntax.
        var typed = await worker.CallAsync(WorkVerbs.TicketMemory, new TicketMemoryArgs($"\"{token}* NEAR( config OR", 10));
        Assert.Equal(parser, typed.Outcomes[0].Id);

        // The operator's route answers the same.
        var http = await _hive.GetAsync<TicketMemoryReply>($"/api/tickets/memory?q={Uri.EscapeDataString($"{token} config parser")}&limit=2");
        Assert.Equal(parser, http.Outcomes[0].Id);
    }

    [Fact]
    public async Task A_finished_ticket_with_a_branch_remembers_the_files_its_branch_changed()
    {
        await using var repository = LocalRepository.Create(new Dictionary<string, string> { ["README.md"] = "a project\n" });
        await using var hive = await HiveInstance.StartAsync([]);
        await hive.PutWorkflowAsync("reviewed", ReviewedWorkflow(repository.Path));
        var (id, agent) = await hive.BuildAndApproveAsync("brancher", "reviewed",
            new Dictionary<string, string> { ["src/parser.c"] = "int parse;\n", ["docs/parser.md"] = "# Parser\n" });

        // Approved, the queue lands it (done); its branch's files are then read from the clone.
        await HiveInstance.Until(() => hive.QueryDb<long>("SELECT count(*) FROM ticket_outcomes WHERE ticket_id = @id AND files LIKE '%src/parser.c%'", new { id }) == 1,
            TimeSpan.FromSeconds(60), $"ticket {id}'s outcome with its branch's files");
        var outcome = (await hive.GetAsync<TicketMemoryReply>("/api/tickets/memory?q=hello")).Outcomes.Single(o => o.Id == id);
        Assert.Equal(["docs/parser.md", "src/parser.c"], outcome.Files.Order());
        Assert.Equal(("done", agent), (outcome.Summary, outcome.FinishedBy));
        Assert.Contains(outcome.Gates, g => g is { From: "review", To: "done", Passed: true });
    }

    [Fact]
    public async Task Bad_input_to_the_memory_is_refused_and_a_summary_too_large_changes_nothing()
    {
        var capability = $"cap-{Guid.NewGuid().ToString("N")[..8]}";
        var workflow = await WorkflowAsync(capability);
        var name = await _hive.NewAgentAsync("forgetter", capability);
        await using var worker = await _hive.ConnectAsync(name);

        foreach (var (query, limit) in new (string?, int?)[] { (null, null), ("", null), ("   ", null), ("\"*", null), ("\" * ()", 3), ("parser", 0), ("parser", 21), (new string('a', 501), null) })
        {
            var refused = await worker.RefusalOfAsync(WorkVerbs.TicketMemory, new TicketMemoryArgs(query, limit));
            Assert.True(refused.Code is "validation" or "bad_request", $"{query}, {limit}: {refused.Code} {refused.Error}");
        }
        foreach (var path in new[] { "/api/tickets/memory", "/api/tickets/memory?q=%22", "/api/tickets/memory?q=parser&limit=99", "/api/tickets/memory?q=parser&limit=-1" })
        {
            using var response = await _hive.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        // A summary beyond its bound is refused, and the ticket stays where it was, still held: no outcome is kept.
        var id = (await ClaimNewAsync(worker, workflow, "Too much to say", "")).Ticket.Id;
        var refusal = await worker.RefusalOfAsync(WorkVerbs.TicketSubmit, new TicketSubmitArgs(id, [new OutputValue("note", "n")], new string('x', 8193), null, null));
        Assert.Equal("too_large", refusal.Code);
        Assert.Contains("8192", refusal.Error);
        var ticket = await _hive.TicketViewAsync(id);
        Assert.Equal(("build", name), (ticket.Phase, ticket.Assignee));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM ticket_outcomes WHERE ticket_id = @id", new { id }));
    }
}
