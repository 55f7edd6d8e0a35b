using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>A ticket as people read it in <c>ticket list</c>, <c>show</c> and <c>claim</c>: its state and holder, its detail.</summary>
internal static class TicketText
{
    /// <summary>What a ticket's row says besides its column: blocked, waiting for room, waiting on others, done.</summary>
    internal static string State(JsonNode? t)
    {
        var parts = new List<string>();
        if (t?["done"]?.GetValue<bool>() == true) parts.Add("done");
        if (t?["blocked"]?.GetValue<bool>() == true) parts.Add("blocked");
        if (Text.Str(t, "next_phase") is { } next) parts.Add($"→ {next}");
        if (t?["waiting_on"] is JsonArray { Count: > 0 } waiting) parts.Add($"waiting on {string.Join(", ", waiting.Select(w => $"#{w}"))}");
        return parts.Count == 0 ? "-" : string.Join(", ", parts);
    }

    internal static string? Holder(JsonNode? t) =>
        Text.Str(t, "assignee") ?? (Text.Str(t, "offered_to") is { } offered ? $"offered to {offered}" : null);

    /// <summary>A ticket's detail as people read it.</summary>
    internal static string Describe(JsonNode? detail)
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
        if (detail?["similar"] is JsonArray { Count: > 0 } similar)
        {
            text.Append("\nFinished tickets like it:\n");
            foreach (var o in similar) text.Append(Outcome(o));
        }
        if (Text.Str(detail, "workflow_notes") is { Length: > 0 } workflowNotes) text.Append($"\nThe operator's notes for {Text.Str(t, "workflow")}:\n{workflowNotes.TrimEnd()}\n");
        return text.ToString();
    }

    /// <summary>A finished ticket's outcome (<c>ticket_memory</c>, a brief's <c>similar</c>): its title and link, summary, files and cost.</summary>
    internal static string Outcome(JsonNode? o)
    {
        var text = new StringBuilder($"  #{Text.Str(o, "id")} {Text.OneLine(Text.Str(o, "title") ?? "", 120)} ({Text.Str(o, "link")}, done {Text.Str(o, "done_at")}");
        text.Append(Text.Str(o, "finished_by") is { } by ? $" by {by})\n" : ")\n");
        if (Text.Str(o, "summary") is { } summary) text.Append($"    {Text.OneLine(summary, 400)}\n");
        if (o?["files"] is JsonArray { Count: > 0 } files) text.Append($"    files: {string.Join(", ", files.Take(20))}{(files.Count > 20 ? $" and {files.Count - 20} more" : "")}\n");
        if (Text.Str(o, "cost_usd") is { } cost) text.Append($"    cost: ${cost}\n");
        return text.ToString();
    }
}
