using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Contracts.Protocol;

/// <summary>
/// docs/agents/protocol.md, written from <see cref="AgentProtocol"/>: each verb with who may call it, its arguments and
/// its reply. <c>hivectl protocol</c> prints it; a test keeps the file in the repository equal to it.
/// </summary>
public static class ProtocolReference
{
    public static string Markdown()
    {
        var doc = new StringBuilder();
        doc.AppendLine("# The agent socket protocol: every verb");
        doc.AppendLine();
        doc.AppendLine("<!-- Generated from src/Contracts (the verb catalog): `hivectl protocol > docs/agents/protocol.md`. Do not edit by hand. -->");
        doc.AppendLine();
        doc.AppendLine("One JSON object per line on the agent's own socket, `{\"op\": \"<verb>\", ...arguments}`; one reply line, " +
                       "`{\"ok\": true, ...reply}` or `{\"ok\": false, \"code\": \"...\", \"error\": \"...\"}`. Field names are snake_case; " +
                       "times are ISO 8601 with a zone. The socket is the caller's identity. [socket.md](socket.md) explains delivery, " +
                       "errors and the tour; [mcp.md](mcp.md) the same verbs as MCP tools.");
        doc.AppendLine();
        doc.AppendLine("| verb | who | MCP tool | what it does |");
        doc.AppendLine("|---|---|---|---|");
        foreach (var verb in AgentProtocol.Verbs)
            doc.AppendLine($"| [`{verb.Name}`](#{verb.Name}) | {Who(verb)} | {(verb.McpTool ? "yes" : "")} | {FirstSentence(verb.Description)} |");
        foreach (var verb in AgentProtocol.Verbs)
        {
            doc.AppendLine();
            doc.AppendLine($"## {verb.Name}");
            doc.AppendLine();
            doc.AppendLine($"{verb.Description} ({Who(verb)}{(verb.McpTool ? "; an MCP tool" : "")}.)");
            doc.AppendLine();
            Fields(doc, "Arguments", VerbSchema.Of(verb.Args));
            if (verb.Reply == typeof(NoReply)) doc.AppendLine("Reply: `{\"ok\": true}` only.");
            else if (VerbSchema.OfReply(verb.Reply) is { } reply && reply["anyOf"] is JsonArray shapes)
                for (var i = 0; i < shapes.Count; i++) Fields(doc, i == 0 ? "Reply, either" : "or", shapes[i]!.AsObject());
            else Fields(doc, "Reply", VerbSchema.OfReply(verb.Reply));
        }
        return doc.ToString();
    }

    private static string Who(SocketVerb verb) => verb.Caller == VerbCaller.Manager ? "the manager" : "any agent";

    private static string FirstSentence(string text)
    {
        var end = text.IndexOf(". ", StringComparison.Ordinal);
        return (end < 0 ? text : text[..(end + 1)]).Replace("|", "\\|", StringComparison.Ordinal);
    }

    private static void Fields(StringBuilder doc, string title, JsonObject schema)
    {
        var properties = schema["properties"]?.AsObject();
        if (properties is null || properties.Count == 0)
        {
            doc.AppendLine($"{title}: none.");
            doc.AppendLine();
            return;
        }
        var required = schema["required"]?.AsArray().Select(r => r!.GetValue<string>()).ToHashSet() ?? [];
        doc.AppendLine($"{title}:");
        doc.AppendLine();
        doc.AppendLine("| field | type | | about |");
        doc.AppendLine("|---|---|---|---|");
        foreach (var (name, node) in properties)
        {
            var field = node?.AsObject() ?? [];
            doc.AppendLine($"| `{name}` | {TypeOf(field)} | {(required.Contains(name) ? "required" : "")} | " +
                           $"{(field["description"]?.GetValue<string>() ?? "").Replace("|", "\\|", StringComparison.Ordinal)} |");
        }
        doc.AppendLine();
    }

    private static string TypeOf(JsonObject field)
    {
        var type = field["type"] switch
        {
            JsonValue v => v.GetValue<string>(),
            JsonArray a => string.Join(" or ", a.Select(t => t!.GetValue<string>())),
            _ => "any",
        };
        if (type == "array" && field["items"] is JsonObject items) type = $"array of {TypeOf(items)}";
        if (field["format"] is JsonValue format) type += $" ({format.GetValue<string>()})";
        if (field["enum"] is JsonArray values) type += ": " + string.Join(", ", values.Select(v => $"`{v}`"));
        if (field["minimum"] is JsonValue min && field["maximum"] is JsonValue max) type += $", {min}–{max}";
        if (field["pattern"] is JsonValue pattern) type += $" matching `{pattern.GetValue<string>().Replace("|", "\\|", StringComparison.Ordinal)}`";
        if (field["maxItems"] is JsonValue most) type += $", at most {most}";
        return type;
    }
}
