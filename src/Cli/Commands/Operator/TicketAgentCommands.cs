using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// The subcommands of <c>ticket</c> that are an agent's, on its socket: <c>claim</c>, <c>submit</c>, <c>block</c>,
/// <c>discover</c> and <c>memory</c> (the verbs <c>ticket_claim</c>, <c>ticket_submit</c>, …). Added by <see cref="TicketCommands"/>.
/// </summary>
internal static class TicketAgentCommands
{
    internal static Command Claim()
    {
        var id = TicketCommands.Id();
        var command = new Command("claim", "take a ticket offered to you (or open in a phase you can work): the reply carries the phase's prompt and the context handed on") { id };
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("ticket_claim", new JsonObject { ["id"] = cx.Value(id) }, ct);
            reply.Remove("ok");
            return new CliOutput(reply, $"claimed #{cx.Value(id)}\n{TicketText.Describe(reply)}");
        });
        return command;
    }

    internal static Command Submit()
    {
        var id = TicketCommands.Id();
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

    internal static Command Memory()
    {
        var query = new Argument<string>("query") { Description = "words to look for in finished tickets (title, body, labels, summary)" };
        var limit = new Option<int?>("--limit") { Description = "at most this many (1 to 20, default 5)" };
        var command = new Command("memory", "search what finished tickets left: their summaries, files, gates and cost, the most relevant first") { query, limit };
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["query"] = cx.Value(query) };
            if (cx.Value(limit) is { } l) fields["limit"] = l;
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("ticket_memory", fields, ct);
            reply.Remove("ok");
            var outcomes = reply["outcomes"] as JsonArray ?? [];
            return new CliOutput(reply, outcomes.Count == 0 ? "no finished ticket matches" : string.Concat(outcomes.Select(TicketText.Outcome)).TrimEnd());
        });
        return command;
    }

    internal static Command Block()
    {
        var id = TicketCommands.Id();
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

    internal static Command Discover()
    {
        var parent = TicketCommands.Id("parent");
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
}
