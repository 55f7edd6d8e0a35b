using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>ticket</c>: the work layer's tickets. <c>create</c>, <c>list</c>, <c>show</c>, <c>release</c> and <c>update --note</c>
/// speak as the agent of the socket when one is given (<c>--socket</c> or <c>$HIVE_SOCKET</c>: the verbs
/// <c>ticket_create</c>, <c>ticket_list</c>, <c>ticket_show</c>, …), else as the operator over HTTP (<c>--as-operator</c>
/// forces it), like <c>send</c> and <c>remind</c>. <c>move</c> is the operator's board move (HTTP only: agents submit
/// instead). <c>claim</c>, <c>submit</c>, <c>block</c> and <c>discover</c> are an agent's, on its socket (<see cref="TicketAgentCommands"/>).
/// </summary>
public static class TicketCommands
{
    private static readonly Option<bool> AsOperator = new("--as-operator")
    {
        Description = "speak as the operator over HTTP (the default when no --socket or $HIVE_SOCKET is given)",
    };

    public static void AddTo(RootCommand root)
    {
        var ticket = new Command("ticket", "tickets on the board: create, list, show, move (the operator); claim, submit, block, discover, memory, update, release (an agent)");
        ticket.Subcommands.Add(Create());
        ticket.Subcommands.Add(List());
        ticket.Subcommands.Add(Show());
        ticket.Subcommands.Add(Move());
        ticket.Subcommands.Add(TicketAgentCommands.Claim());
        ticket.Subcommands.Add(TicketAgentCommands.Submit());
        ticket.Subcommands.Add(TicketAgentCommands.Block());
        ticket.Subcommands.Add(TicketAgentCommands.Discover());
        ticket.Subcommands.Add(TicketAgentCommands.Memory());
        ticket.Subcommands.Add(Update());
        ticket.Subcommands.Add(Release());
        root.Subcommands.Add(ticket);
    }

    internal static Argument<long> Id(string name = "id") => new(name) { Description = "the ticket's id" };

    private static Command Create()
    {
        var title = new Argument<string>("title") { Description = "what is to be done" };
        var body = new Option<string?>("--body") { Description = "the details" };
        var workflow = new Option<string?>("--workflow") { Description = "the workflow it goes through (default: the hive's default workflow)" };
        var priority = new Option<int?>("--priority") { Description = "higher comes first (-1000 to 1000; default 0)" };
        var labels = new Option<string[]>("--label") { Description = "a label (repeatable)" };
        var dependsOn = new Option<long[]>("--depends-on") { Description = "a ticket that must be done first (repeatable)" };
        var command = new Command("create", "a new ticket, in its workflow's first phase: as the operator, or the agent of the socket (the manager, or one Hive:Work:Creators names)")
            { title, body, workflow, priority, labels, dependsOn, AsOperator };
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["title"] = cx.Value(title) };
            if (cx.Value(body) is { } b) fields["body"] = b;
            if (cx.Value(workflow) is { } w) fields["workflow"] = w;
            if (cx.Value(priority) is { } p) fields["priority"] = p;
            if (cx.Value(labels) is { Length: > 0 } l) fields["labels"] = OptionValues.Array(l);
            if (cx.Value(dependsOn) is { Length: > 0 } d) fields["depends_on"] = new JsonArray(d.Select(i => (JsonNode?)i).ToArray());
            JsonNode? created;
            if (cx.SpeaksAsAgent(AsOperator))
            {
                await using var socket = await cx.ConnectAsync(ct);
                created = (await socket.CallAsync("ticket_create", fields, ct))["ticket"];
            }
            else
            {
                using var api = cx.Api();
                created = await api.PostAsync("/api/tickets", fields, ct);
            }
            return new CliOutput(created?.DeepClone(), $"created ticket #{Text.Str(created, "id")} in {Text.Str(created, "workflow")}/{Text.Str(created, "phase")}");
        });
        return command;
    }

    private static Command List()
    {
        var column = new Option<string?>("--column") { Description = "only the tickets in this board column" };
        var workflow = new Option<string?>("--workflow") { Description = "only this workflow's tickets" };
        var assignee = new Option<string?>("--assignee") { Description = "only the tickets this agent holds" };
        var done = new Option<bool>("--done") { Description = "the done tickets too (by default only the open ones)" };
        var before = new Option<long?>("--before") { Description = "tickets with a smaller id (the next page)" };
        var limit = new Option<int?>("--limit") { Description = "at most this many (newest first)" };
        var command = new Command("list", "tickets, newest first: the open ones (--done: the done ones too)") { column, workflow, assignee, done, before, limit, AsOperator };
        command.SetRun(async (cx, ct) =>
        {
            JsonArray tickets;
            if (cx.SpeaksAsAgent(AsOperator))
            {
                var fields = new JsonObject();
                if (cx.Value(column) is { } c) fields["column"] = c;
                if (cx.Value(workflow) is { } w) fields["workflow"] = w;
                if (cx.Value(assignee) is { } a) fields["assignee"] = a;
                if (cx.Value(done)) fields["done"] = true;
                if (cx.Value(before) is { } b) fields["before"] = b;
                if (cx.Value(limit) is { } n) fields["limit"] = n;
                await using var socket = await cx.ConnectAsync(ct);
                tickets = (await socket.CallAsync("ticket_list", fields, ct))["tickets"]?.DeepClone() as JsonArray ?? [];
            }
            else
            {
                var query = new List<string>();
                void Add(string key, string? value) { if (value is not null) query.Add($"{key}={Uri.EscapeDataString(value)}"); }
                Add("column", cx.Value(column));
                Add("workflow", cx.Value(workflow));
                Add("assignee", cx.Value(assignee));
                if (cx.Value(done)) Add("done", "true");
                Add("before", cx.Value(before)?.ToString(CultureInfo.InvariantCulture));
                Add("limit", cx.Value(limit)?.ToString(CultureInfo.InvariantCulture));
                using var api = cx.Api();
                tickets = await api.GetAsync("/api/tickets" + (query.Count == 0 ? "" : "?" + string.Join('&', query)), ct) as JsonArray ?? [];
            }
            return new CliOutput(tickets, Text.Table(["ID", "WORKFLOW", "COLUMN", "STATE", "PRIORITY", "ASSIGNEE", "TITLE"],
                tickets.Select(t => (IReadOnlyList<string?>)
                [
                    Text.Str(t, "id"), Text.Str(t, "workflow"), Text.Str(t, "column"), TicketText.State(t), Text.Str(t, "priority"), TicketText.Holder(t), Text.Str(t, "title"),
                ])));
        });
        return command;
    }

    private static Command Show()
    {
        var id = Id();
        var command = new Command("show", "one ticket: its phase, what is done and expected there, history with each gate, context, notes, discoveries") { id, AsOperator };
        command.SetRun(async (cx, ct) =>
        {
            JsonNode? detail;
            if (cx.SpeaksAsAgent(AsOperator))
            {
                await using var socket = await cx.ConnectAsync(ct);
                var reply = await socket.CallAsync("ticket_show", new JsonObject { ["id"] = cx.Value(id) }, ct);
                reply.Remove("ok");
                detail = reply;
            }
            else
            {
                using var api = cx.Api();
                detail = await api.GetAsync($"/api/tickets/{cx.Value(id)}", ct);
            }
            return new CliOutput(detail, TicketText.Describe(detail));
        });
        return command;
    }

    private static Command Move()
    {
        var id = Id();
        var to = new Argument<string>("phase") { Description = "the phase (board column) to move it to" };
        var command = new Command("move", "the operator's board move: refused (conflict, exit 1) by a WIP limit, a move the phase does not allow, a block, or a gate with what it misses")
            { id, to };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            JsonNode? moved;
            try
            {
                moved = await api.PostAsync($"/api/tickets/{cx.Value(id)}/move", new JsonObject { ["to"] = cx.Value(to) }, ct);
            }
            catch (CliError e) when (e.Code == "conflict")
            {
                throw new CliError(e.Code, $"#{cx.Value(id)} not moved to {cx.Value(to)}: {e.Message}");
            }
            return new CliOutput(moved, $"#{Text.Str(moved, "id")} is in {Text.Str(moved, "phase")}");
        });
        return command;
    }

    private static Command Update()
    {
        var id = Id();
        var note = new Option<string?>("--note") { Description = "a note on the ticket" };
        var done = new Option<string[]>("--done") { Description = "an item of the phase's done definition you tick (repeatable; an agent's)" };
        var command = new Command("update", "add a note (the operator or an agent) or tick done items (the agent holding it)") { id, note, done, AsOperator };
        command.SetRun(async (cx, ct) =>
        {
            if (cx.Value(note) is null && cx.Value(done) is not { Length: > 0 }) throw new UsageError("say what changes: --note N or --done ITEM");
            JsonNode? ticket;
            if (cx.SpeaksAsAgent(AsOperator))
            {
                var fields = new JsonObject { ["id"] = cx.Value(id) };
                if (cx.Value(note) is { } n) fields["note"] = n;
                if (cx.Value(done) is { Length: > 0 } d) fields["done"] = OptionValues.Array(d);
                await using var socket = await cx.ConnectAsync(ct);
                ticket = (await socket.CallAsync("ticket_update", fields, ct))["ticket"]?.DeepClone();
            }
            else
            {
                if (cx.Value(done) is { Length: > 0 }) throw new UsageError("--done ticks an agent's work: give it on the agent's socket");
                using var api = cx.Api();
                ticket = await api.SendAsync(HttpMethod.Patch, $"/api/tickets/{cx.Value(id)}", new JsonObject { ["note"] = cx.Value(note) }, ct);
            }
            return new CliOutput(ticket, $"#{cx.Value(id)} updated{(ticket?["ticks"] is JsonArray { Count: > 0 } ticks ? $" (ticked: {string.Join("; ", ticks)})" : "")}");
        });
        return command;
    }

    private static Command Release()
    {
        var id = Id();
        var command = new Command("release", "give a ticket back (the agent holding it), or take it from its assignee (the operator)") { id, AsOperator };
        command.SetRun(async (cx, ct) =>
        {
            JsonNode? ticket;
            if (cx.SpeaksAsAgent(AsOperator))
            {
                await using var socket = await cx.ConnectAsync(ct);
                ticket = (await socket.CallAsync("ticket_release", new JsonObject { ["id"] = cx.Value(id) }, ct))["ticket"]?.DeepClone();
            }
            else
            {
                using var api = cx.Api();
                ticket = await api.PostAsync($"/api/tickets/{cx.Value(id)}/release", null, ct);
            }
            return new CliOutput(ticket, $"released #{cx.Value(id)}: it is in {Text.Str(ticket, "phase")}, unassigned");
        });
        return command;
    }
}
