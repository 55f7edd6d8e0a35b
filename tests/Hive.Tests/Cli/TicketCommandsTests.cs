using System.Globalization;
using System.Net.Http.Json;
using Hive.Contracts.Work;

namespace Hive.Tests.Cli;

/// <summary>
/// The hivectl half of the board: <c>ticket create|list|show|move|update|release</c> as the operator over HTTP, and
/// the agent's verbs (<c>claim</c>, <c>list</c>, <c>release</c>) on its socket, through the built hivectl against a real
/// hive. The tests share the hive and a small workflow (every phase worked, so the board's dispatch pulls nothing by itself;
/// doing holds one ticket, check is done when "It works" is ticked); each test uses tickets of its own.
/// </summary>
public sealed class TicketCommandsTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private const string Workflow = """
        name: cli_triage
        phases:
          - name: todo
            needs: [triage]
            allowed_transitions: [doing]
          - name: doing
            needs: [triage]
            wip_limit: 1
            allowed_transitions: [check, todo]
          - name: check
            needs: [triage]
            done_definition:
              - It works
            allowed_transitions: [closed, doing]
          - name: closed
            terminal: true
        """;

    /// <summary>The workflow as <paramref name="name"/>, its phases needing <paramref name="capability"/> (the claim test's own, so that
    /// its agent is offered none of the other test's tickets).</summary>
    private async Task PutWorkflowAsync(string name = "cli_triage", string capability = "triage")
    {
        var yaml = Workflow.Replace("cli_triage", name, StringComparison.Ordinal).Replace("[triage]", $"[{capability}]", StringComparison.Ordinal);
        using var put = await _hive.Http.PutAsJsonAsync($"/api/workflows/{name}", new { yaml });
        Assert.True(put.IsSuccessStatusCode, $"{(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
    }

    private static string S(long id) => id.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Create_list_show_and_move_as_the_operator_and_refused_moves_say_why()
    {
        await PutWorkflowAsync();
        var created = (await fixture.OperatorAsync("ticket", "create", "Write the parser", "--workflow", "cli_triage", "--priority", "5",
            "--label", "parser", "--label", "core", "--body", "Tokens first.", "--json")).Ok().JsonAs<TicketView>();
        var first = created.Id;
        Assert.Equal("todo", created.Phase);
        Assert.Equal(["parser", "core"], created.Labels);
        var said = (await fixture.OperatorAsync("ticket", "create", "Ship it", "--workflow", "cli_triage", "--depends-on", S(first))).Ok().Stdout.Trim();
        Assert.Matches(@"^created ticket #\d+ in cli_triage/todo$", said);
        var second = long.Parse(said.Split('#', ' ')[3], CultureInfo.InvariantCulture);

        // The table: newest first, the state column says what waits.
        var table = (await fixture.OperatorAsync("ticket", "list", "--workflow", "cli_triage")).Ok().Stdout.Split('\n');
        Assert.Matches(@"^ID\s+WORKFLOW\s+COLUMN\s+STATE\s+PRIORITY\s+ASSIGNEE\s+TITLE$", table[0].TrimEnd());
        Assert.Matches($@"^{second}\s+cli_triage\s+todo\s+waiting on #{first}\s+0\s+-\s+Ship it$", table[1].TrimEnd());
        Assert.Matches($@"^{first}\s+cli_triage\s+todo\s+-\s+5\s+-\s+Write the parser$", table[2].TrimEnd());
        var todo = (await fixture.OperatorAsync("ticket", "list", "--workflow", "cli_triage", "--column", "todo", "--json")).Ok().JsonAs<TicketView[]>();
        Assert.Equal([second, first], todo.Select(t => t.Id));

        // Moves: one into room; into the full column, the WIP limit; out of check, the gate with what it misses.
        Assert.Equal($"#{first} is in doing", (await fixture.OperatorAsync("ticket", "move", S(first), "doing")).Ok().Stdout.Trim());
        var full = (await fixture.OperatorAsync("ticket", "move", S(second), "doing", "--json")).Refused("conflict");
        Assert.Contains("WIP limit", full.JsonAs<Refusal>().Error);
        Assert.Contains($"#{second} not moved to doing", full.JsonAs<Refusal>().Error);
        (await fixture.OperatorAsync("ticket", "move", S(first), "check")).Ok();
        var gate = (await fixture.OperatorAsync("ticket", "move", S(first), "closed")).Refused("conflict");
        Assert.Contains("not ticked: It works", gate.Stderr);
        (await fixture.OperatorAsync("ticket", "move", S(first), "nowhere")).Refused("bad_request");
        (await fixture.OperatorAsync("ticket", "update", S(first), "--note", "check the error messages")).Ok();
        (await fixture.OperatorAsync("ticket", "update", S(first))).Usage();

        // show: the phase, what is done and expected there, the history, the notes.
        var shown = (await fixture.OperatorAsync("ticket", "show", S(first))).Ok().Stdout;
        Assert.StartsWith($"#{first} Write the parser\n  workflow cli_triage, phase check, priority 5\n  labels: parser, core\n", shown);
        Assert.Contains("Tokens first.", shown);
        Assert.Contains("Done when:\n  [ ] It works\n", shown);
        Assert.Matches(@"(?m)^  \S+  created in todo by operator$", shown);
        Assert.Matches(@"(?m)^  \S+  todo → doing by operator$", shown);
        Assert.Matches(@"(?m)^  \S+  doing → check by operator$", shown);
        Assert.Matches(@"(?m)^  \S+ operator: check the error messages$", shown);
        var detail = (await fixture.OperatorAsync("ticket", "show", S(first), "--json")).Ok().JsonAs<TicketDetail>();
        Assert.Equal("check", detail.Ticket.Phase);
        Assert.Equal(3, detail.History.Count);
        Assert.Equal(["It works"], detail.DoneDefinition);

        // --done lists the done ones too (none is done here: closing needs the agent's tick), --column narrows.
        var all = (await fixture.OperatorAsync("ticket", "list", "--workflow", "cli_triage", "--done", "--json")).Ok().JsonAs<TicketView[]>();
        Assert.Equal([second, first], all.Select(t => t.Id));
        Assert.Equal("(none)", (await fixture.OperatorAsync("ticket", "list", "--workflow", "cli_triage", "--column", "closed")).Ok().Stdout.Trim());
        (await fixture.OperatorAsync("ticket", "show", "987654")).Refused("not_found");
        (await fixture.OperatorAsync("ticket", "show", "first")).Usage();
        (await fixture.OperatorAsync("ticket", "create", "", "--json")).Refused("validation");
    }

    [Fact]
    public async Task An_agent_claims_lists_and_releases_on_its_socket()
    {
        await PutWorkflowAsync("cli_claims", "claims");
        (await fixture.OperatorAsync("agents", "create", "carol", "--external", "--capability", "claims")).Ok();
        var id = (await fixture.OperatorAsync("ticket", "create", "Triage the inbox", "--workflow", "cli_claims", "--json")).Ok().JsonAs<TicketView>().Id;

        // The board offers it to carol (the one agent with the capability): alice cannot take it, carol claims it.
        var until = DateTime.UtcNow.AddSeconds(15);
        while ((await _hive.GetAsync<TicketDetail>($"/api/tickets/{id}")).Ticket.OfferedTo != "carol")
        {
            Assert.True(DateTime.UtcNow < until, "the ticket was not offered to carol within 15 s");
            await Task.Delay(50);
        }
        var refused = (await fixture.AgentAsync("alice", "ticket", "claim", S(id), "--json")).Refused("conflict");
        Assert.Contains("offered to carol", refused.JsonAs<Refusal>().Error);
        var claimed = (await fixture.AgentAsync("carol", "ticket", "claim", S(id), "--json")).Ok().JsonAs<TicketDetail>();
        Assert.Equal("carol", claimed.Ticket.Assignee);
        var human = (await fixture.AgentAsync("carol", "ticket", "show", S(id))).Ok().Stdout;
        Assert.StartsWith($"#{id} Triage the inbox\n  workflow cli_claims, phase todo, priority 0, carol\n", human);

        // The agent's list (ticket_list) and the operator's agree.
        var mine = (await fixture.AgentAsync("carol", "ticket", "list", "--assignee", "carol", "--json")).Ok().JsonAs<TicketView[]>();
        Assert.Contains(id, mine.Select(t => t.Id));
        Assert.Matches($@"(?m)^{id}\s+cli_claims\s+todo\s+-\s+0\s+carol\s+Triage the inbox$",
            (await fixture.OperatorAsync("ticket", "list", "--workflow", "cli_claims", "--assignee", "carol")).Ok().Stdout);

        Assert.Equal($"released #{id}: it is in todo, unassigned", (await fixture.AgentAsync("carol", "ticket", "release", S(id))).Ok().Stdout.Trim());
        var after = await _hive.GetJsonAsync($"/api/tickets/{id}"); // present and null, raw: a record cannot tell it from absent
        Assert.Equal(JsonValueKind.Null, after.GetProperty("ticket").GetProperty("assignee").ValueKind);
        (await fixture.AgentAsync("carol", "ticket", "submit", S(id), "--output", "nokind")).Usage();
    }
}
