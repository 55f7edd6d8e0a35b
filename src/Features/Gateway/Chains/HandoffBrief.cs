using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Features.Gateway.Chains;

/// <summary>
/// The brief an agent moved to another provider starts with, read out of the last request it sent on the provider it
/// leaves (that request holds the conversation so far): its task (the first thing it was asked), what it last said, its
/// last tool calls with their results, and the files its writing tools named. Each part is cut short: a brief, not the
/// conversation, which the new model never sees.
/// </summary>
internal static class HandoffBrief
{
    private const int MaxCalls = 6;

    private sealed record ToolCall(string Id, string Name, string Input)
    {
        public string? Result { get; set; }
    }

    public static string? From(string protocol, byte[] body)
    {
        JsonObject? root;
        try
        {
            root = JsonNode.Parse(body) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
        if (root is null) return null;
        var (task, said, calls) = protocol switch
        {
            ProviderProtocols.OpenAi => ReadOpenAi(root),
            ProviderProtocols.Gemini => ReadGemini(root),
            _ => ReadAnthropic(root),
        };
        if (task is null && calls.Count == 0) return null;
        var brief = new StringBuilder("What you were doing, from the hive's record of your last call:\n");
        if (task is not null) brief.Append("- Your task began: ").Append(Cut(task, 1500)).Append('\n');
        if (said is not null) brief.Append("- You last said: ").Append(Cut(said, 800)).Append('\n');
        if (calls.Count > 0)
        {
            brief.Append($"- Your last {Math.Min(calls.Count, MaxCalls)} tool call(s), oldest first (already carried out: do not repeat one unless you mean to):\n");
            foreach (var call in calls.TakeLast(MaxCalls))
                brief.Append("  - ").Append(call.Name).Append(' ').Append(Cut(call.Input, 300))
                    .Append(" → ").Append(call.Result is { } result ? Cut(result, 400) : "(no result recorded)").Append('\n');
        }
        var files = calls.Where(c => IsWriting(c.Name)).Select(c => PathIn(c.Input)).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (files.Count > 0) brief.Append("- Files your tools wrote or edited: ").Append(string.Join(", ", files.Take(20))).Append('\n');
        return brief.ToString();
    }

    /// <summary>Whether the conversation holds anything a model wrote: if so, it belongs to the model that wrote it.</summary>
    public static bool ModelWrote(string protocol, byte[] body)
    {
        try
        {
            if (JsonNode.Parse(body) is not JsonObject root) return false;
            return protocol switch
            {
                ProviderProtocols.Gemini => Items(root["contents"]).Any(c => Str(c["role"]) == "model"),
                ProviderProtocols.OpenAi => Items(root["messages"]).Concat(Items(root["input"]))
                    .Any(m => Str(m["role"]) == "assistant" || Str(m["type"]) == "function_call"),
                _ => Items(root["messages"]).Any(m => Str(m["role"]) == "assistant"),
            };
        }
        catch (System.Text.Json.JsonException)
        {
            return true; // unreadable: assume the worst, and let the turn end rather than hand a conversation over
        }
    }

    private static (string? Task, string? Said, List<ToolCall> Calls) ReadAnthropic(JsonObject root)
    {
        string? task = null, said = null;
        var calls = new List<ToolCall>();
        foreach (var message in Items(root["messages"]))
        {
            var role = Str(message["role"]);
            var content = message["content"];
            if (content is JsonValue) content = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = Str(content) });
            foreach (var block in Items(content))
            {
                switch (Str(block["type"]))
                {
                    case "text" when role == "user":
                        task ??= Str(block["text"]);
                        break;
                    case "text" when role == "assistant":
                        said = Str(block["text"]) ?? said;
                        break;
                    case "tool_use":
                        calls.Add(new ToolCall(Str(block["id"]) ?? "", Str(block["name"]) ?? "?", block["input"]?.ToJsonString() ?? "{}"));
                        break;
                    case "tool_result" when calls.LastOrDefault(c => c.Id == Str(block["tool_use_id"])) is { } call:
                        call.Result = block["content"] is JsonValue v ? Str(v) : string.Join(" ", Items(block["content"]).Select(b => Str(b["text"])).OfType<string>());
                        break;
                }
            }
        }
        return (task, said, calls);
    }

    private static (string? Task, string? Said, List<ToolCall> Calls) ReadOpenAi(JsonObject root)
    {
        string? task = null, said = null;
        var calls = new List<ToolCall>();
        foreach (var message in Items(root["messages"]))
        {
            switch (Str(message["role"]))
            {
                case "user":
                    task ??= Str(message["content"]) ?? string.Join(" ", Items(message["content"]).Select(p => Str(p["text"])).OfType<string>());
                    break;
                case "assistant":
                    said = Str(message["content"]) ?? said;
                    foreach (var call in Items(message["tool_calls"]))
                        calls.Add(new ToolCall(Str(call["id"]) ?? "", Str(call["function"]?["name"]) ?? "?", Str(call["function"]?["arguments"]) ?? "{}"));
                    break;
                case "tool" when calls.LastOrDefault(c => c.Id == Str(message["tool_call_id"])) is { } answered:
                    answered.Result = Str(message["content"]);
                    break;
            }
        }
        return (task, said, calls);
    }

    private static (string? Task, string? Said, List<ToolCall> Calls) ReadGemini(JsonObject root)
    {
        string? task = null, said = null;
        var calls = new List<ToolCall>();
        foreach (var content in Items(root["contents"]))
            foreach (var part in Items(content["parts"]))
            {
                if (Str(part["text"]) is { } text)
                {
                    if (Str(content["role"]) == "model") said = text;
                    else task ??= text;
                }
                if (part["functionCall"] is JsonObject call)
                    calls.Add(new ToolCall(Str(call["name"]) ?? "?", Str(call["name"]) ?? "?", call["args"]?.ToJsonString() ?? "{}"));
                if (part["functionResponse"] is JsonObject response && calls.LastOrDefault(c => c.Id == Str(response["name"])) is { } answered)
                    answered.Result = response["response"]?.ToJsonString();
            }
        return (task, said, calls);
    }

    /// <summary>A tool that writes files, by the names the agents give theirs (Edit, Write, write_file, apply_patch, ...).</summary>
    private static bool IsWriting(string name) =>
        name.Contains("write", StringComparison.OrdinalIgnoreCase) || name.Contains("edit", StringComparison.OrdinalIgnoreCase)
        || name.Contains("patch", StringComparison.OrdinalIgnoreCase) || name.Contains("replace", StringComparison.OrdinalIgnoreCase);

    private static string? PathIn(string input)
    {
        try
        {
            if (JsonNode.Parse(input) is not JsonObject args) return null;
            return new[] { "file_path", "path", "filePath", "notebook_path", "filename" }.Select(k => Str(args[k])).FirstOrDefault(p => p is { Length: > 0 });
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static IEnumerable<JsonNode> Items(JsonNode? node) => node is JsonArray array ? array.OfType<JsonNode>() : [];

    private static string? Str(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    private static string Cut(string text, int max)
    {
        var flat = text.ReplaceLineEndings(" ").Trim();
        return flat.Length <= max ? flat : flat[..max] + "…";
    }
}
