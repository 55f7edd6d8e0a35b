using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// <c>ticket</c>: the work layer's tickets. <c>create</c>, <c>list</c>, <c>show</c>, <c>release</c> and <c>update --note</c>
/// speak as the agent of the socket when one is given (<c>--socket</c> or <c>$HIVE_SOCKET</c>: the verbs
/// <c>ticket_create</c>, <c>ticket_list</c>, <c>ticket_show</c>, …), else as the operator over HTTP (<c>--as-operator</c>
/// forces it), like <c>send</c> and <c>remind</c>. <c>move</c> is the operator's board move (HTTP only: agents submit
/// instead). <c>claim</c>, <c>submit</c>, <c>block</c> and <c>discover</c> are an agent's, on its socket.
/// </summary>
public static class TicketCommands
{
    private static readonly Option<bool> AsOperator = new("--as-operator")
    {
        Description = "speak as the operator over HTTP (the default when no --socket or $HIVE_SOCKET is given)",
    };

    public static void AddTo(RootCommand root)
    {
        var ticket = new Command("ticket", "tickets on the board: create, list, show, move (the operator); claim, submit, block, discover, update, release (an agent)");
        ticket.Subcommands.Add(Create());
        ticket.Subcommands.Add(List());
        ticket.Subcommands.Add(Show());
        ticket.Subcommands.Add(Move());
        ticket.Subcommands.Add(Claim());
        ticket.Subcommands.Add(Submit());
        ticket.Subcommands.Add(Block());
        ticket.Subcommands.Add(Discover());
        ticket.Subcommands.Add(Update());
        ticket.Subcommands.Add(Release());
        root.Subcommands.Add(ticket);
    }

    private static Argument<long> Id(string name = "id") => new(name) { Description = "the ticket's id" };

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
                    Text.Str(t, "id"), Text.Str(t, "workflow"), Text.Str(t, "column"), State(t), Text.Str(t, "priority"), Holder(t), Text.Str(t, "title"),
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
            return new CliOutput(detail, Describe(detail));
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

    private static Command Claim()
    {
        var id = Id();
        var command = new Command("claim", "take a ticket offered to you (or open in a phase you can work): the reply carries the phase's prompt and the context handed on") { id };
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("ticket_claim", new JsonObject { ["id"] = cx.Value(id) }, ct);
            reply.Remove("ok");
            return new CliOutput(reply, $"claimed #{cx.Value(id)}\n{Describe(reply)}");
        });
        return command;
    }

    private static Command Submit()
    {
        var id = Id();
        var summary = new Option<string?>("--summary") { Description = "what you did, for the next phase" };
        var outputs = new Option<string[]>("--output") { Description = "KIND=VALUE: an artifact the phase expects (file=design.md, branch=…, url=…, note=…; repeatable)" };
        var done = new Option<string[]>("--done") { Description = "an item of the phase's done definition you tick (repeatable)" };
        var to = new Option<string?>("--to") { Description = "the phase to move to when it is not the next one" };
        var command = new Command("submit", "hand in your work: the gate checks the outputs and ticks; passed, the ticket moves on (or waits for room)")
            { id, summary, outputs, done, to };
        command.SetRun(async (cx, ct) =>
        {
            var given = new JsonArray();
            foreach (var item in cx.Value(outputs) ?? [])
            {
                var eq = item.IndexOf('=');
                if (eq <= 0) throw new UsageError($"--output takes KIND=VALUE, not {item}");
                given.Add(new JsonObject { ["kind"] = item[..eq], ["value"] = item[(eq + 1)..] });
            }
            var fields = new JsonObject { ["id"] = cx.Value(id), ["outputs"] = given, ["done"] = OptionValues.Array(cx.Value(done) ?? []) };
            if (cx.Value(summary) is { } s) fields["summary"] = s;
            if (cx.Value(to) is { } t) fields["to"] = t;
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("ticket_submit", fields, ct);
            var gate = reply["gate"];
            var text = new StringBuilder();
            if (gate?["passed"]?.GetValue<bool>() == true)
            {
                var ticket = reply["ticket"];
                text.Append(reply["moved"]?.GetValue<bool>() == true
                    ? $"gate passed: #{cx.Value(id)} is in {Text.Str(ticket, "phase")}"
                    : $"gate passed: #{cx.Value(id)} waits{(Text.Str(reply, "waiting_for") is { } w ? $" for {w}" : "")}");
            }
            else
            {
                text.Append($"gate refused #{cx.Value(id)}: it stays in {Text.Str(reply["ticket"], "phase")}");
                foreach (var missing in gate?["missing"] as JsonArray ?? []) text.Append($"\n  missing: {missing}");
            }
            return new CliOutput(reply, text.ToString());
        });
        return command;
    }

    private static Command Block()
    {
        var id = Id();
        var question = new Argument<string>("question") { Description = "what you need answered before you can go on" };
        var to = new Option<string?>("--to") { Description = "an agent to ask (default: the operator)" };
        var options = new Option<string[]>("--option") { Description = "an answer to offer (repeatable)" };
        var command = new Command("block", "ask a question and park the ticket (it keeps its column, marked blocked) until it is answered") { id, question, to, options };
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["id"] = cx.Value(id), ["question"] = cx.Value(question) };
            if (cx.Value(to) is { } t) fields["to"] = t;
            if (cx.Value(options) is { Length: > 0 } o) fields["options"] = OptionValues.Array(o);
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("ticket_block", fields, ct);
            return new CliOutput(reply, $"#{cx.Value(id)} is blocked on question {Text.Str(reply["ticket"], "blocked_question_id")}");
        });
        return command;
    }

    private static Command Discover()
    {
        var parent = Id("parent");
        var title = new Argument<string>("title") { Description = "the new ticket's title" };
        var reason = new Option<string>("--reason") { Description = "why it came up while working the parent", Required = true };
        var body = new Option<string?>("--body") { Description = "the details" };
        var priority = new Option<int?>("--priority") { Description = "higher comes first" };
        var blocksParent = new Option<bool>("--blocks-parent") { Description = "the parent cannot be done before it" };
        var command = new Command("discover", "add a ticket found while working PARENT") { parent, title, reason, body, priority, blocksParent };
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["parent"] = cx.Value(parent), ["title"] = cx.Value(title), ["reason"] = cx.Value(reason) };
            if (cx.Value(body) is { } b) fields["body"] = b;
            if (cx.Value(priority) is { } p) fields["priority"] = p;
            if (cx.Value(blocksParent)) fields["blocks_parent"] = true;
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("ticket_discover", fields, ct);
            return new CliOutput(reply, $"created ticket #{Text.Str(reply["ticket"], "id")} (found in #{cx.Value(parent)})");
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

    /// <summary>What a ticket's row says besides its column: blocked, waiting for room, waiting on others, done.</summary>
    private static string State(JsonNode? t)
    {
        var parts = new List<string>();
        if (t?["done"]?.GetValue<bool>() == true) parts.Add("done");
        if (t?["blocked"]?.GetValue<bool>() == true) parts.Add("blocked");
        if (Text.Str(t, "next_phase") is { } next) parts.Add($"→ {next}");
        if (t?["waiting_on"] is JsonArray { Count: > 0 } waiting) parts.Add($"waiting on {string.Join(", ", waiting.Select(w => $"#{w}"))}");
        return parts.Count == 0 ? "-" : string.Join(", ", parts);
    }

    private static string? Holder(JsonNode? t) =>
        Text.Str(t, "assignee") ?? (Text.Str(t, "offered_to") is { } offered ? $"offered to {offered}" : null);

    /// <summary>A ticket's detail as people read it.</summary>
    private static string Describe(JsonNode? detail)
    {
        var t = detail?["ticket"];
        var text = new StringBuilder();
        text.Append($"#{Text.Str(t, "id")} {Text.OneLine(Text.Str(t, "title") ?? "", 200)}\n");
        text.Append($"  workflow {Text.Str(t, "workflow")}, phase {Text.Str(t, "phase")}");
        if (Text.Str(t, "column") is { } column && column != Text.Str(t, "phase")) text.Append($" (column {column})");
        text.Append($", priority {Text.Str(t, "priority")}");
        if (Holder(t) is { } holder) text.Append($", {holder}");
        if (State(t) is var state && state != "-") text.Append($", {state}");
        text.Append('\n');
        if (t?["labels"] is JsonArray { Count: > 0 } labels) text.Append($"  labels: {string.Join(", ", labels)}\n");
        if (Text.Str(t, "parent_id") is { } parent) text.Append($"  found in #{parent}: {Text.Str(t, "discovery_reason")}\n");
        if (Text.Str(t, "body") is { Length: > 0 } body) text.Append($"\n{body}\n");

        var ticks = (t?["ticks"] as JsonArray ?? []).Select(x => x?.ToString()).ToHashSet();
        if (detail?["done_definition"] is JsonArray { Count: > 0 } definition)
        {
            text.Append("\nDone when:\n");
            foreach (var item in definition) text.Append($"  [{(ticks.Contains(item?.ToString()) ? "x" : " ")}] {item}\n");
        }
        if (detail?["expected_outputs"] is JsonArray { Count: > 0 } expected)
        {
            text.Append("Expected outputs:\n");
            foreach (var o in expected)
                text.Append($"  {Text.Str(o, "kind")}{(Text.Str(o, "path") is { } p ? $" {p}" : "")}{(Text.Str(o, "description") is { } d ? $": {d}" : "")}\n");
        }
        if (detail?["history"] is JsonArray { Count: > 0 } history)
        {
            text.Append("\nHistory:\n");
            foreach (var h in history)
            {
                var from = Text.Str(h, "from_phase");
                text.Append($"  {Text.Str(h, "moved_at")}  {(from is null ? $"created in {Text.Str(h, "to_phase")}" : $"{from} → {Text.Str(h, "to_phase")}")} by {Text.Str(h, "moved_by")}");
                if (h?["gate"] is JsonObject gate)
                {
                    text.Append(gate["passed"]?.GetValue<bool>() == true ? ", gate passed" : ", gate refused");
                    if (Text.Str(gate, "review") is { } review) text.Append($" ({review})");
                    if (gate["missing"] is JsonArray { Count: > 0 } missing) text.Append($": {string.Join("; ", missing)}");
                }
                text.Append('\n');
            }
        }
        if (t?["context"] is JsonArray { Count: > 0 } context)
        {
            text.Append("\nContext:\n");
            foreach (var c in context)
            {
                text.Append($"  {Text.Str(c, "phase")} by {Text.Str(c, "by")} at {Text.Str(c, "at")}");
                if (Text.Str(c, "summary") is { } summary) text.Append($": {Text.OneLine(summary, 400)}");
                text.Append('\n');
                foreach (var o in c?["outputs"] as JsonArray ?? []) text.Append($"    {Text.Str(o, "kind")}: {Text.Str(o, "value")}\n");
            }
        }
        if (detail?["notes"] is JsonArray { Count: > 0 } notes)
        {
            text.Append("\nNotes:\n");
            foreach (var n in notes) text.Append($"  {Text.Str(n, "written_at")} {Text.Str(n, "author")}: {Text.OneLine(Text.Str(n, "text") ?? "", 400)}\n");
        }
        if (detail?["children"] is JsonArray { Count: > 0 } children)
        {
            text.Append("\nFound while working it:\n");
            foreach (var c in children)
                text.Append($"  #{Text.Str(c, "id")} {Text.OneLine(Text.Str(c, "title") ?? "", 120)} [{Text.Str(c, "column")}]: {Text.Str(c, "discovery_reason")}\n");
        }
        if (Text.Str(detail, "prompt") is { Length: > 0 } prompt) text.Append($"\nPrompt of {Text.Str(t, "phase")}:\n{prompt.TrimEnd()}\n");
        return text.ToString();
    }
}
