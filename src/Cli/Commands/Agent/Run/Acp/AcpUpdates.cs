using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run.Acp;

/// <summary>
/// One prompt turn of an ACP agent as the hive sees it: each <c>session/update</c> as transcript entries (the agent's text,
/// joined from its chunks; a tool call with its input summarised; its result, truncated; a plan), and the turn's figures
/// as the agent reports them (its model, tokens and cost: a claim, which the gateway's metering replaces when the calls
/// went through it; the tools it called; how the prompt ended).
/// </summary>
internal sealed partial class AcpUpdates(string? model) : ITurnStats
{
    private readonly StringBuilder _text = new();
    private readonly Dictionary<string, long> _tools = new(StringComparer.Ordinal);

    public string? Model { get; private set; } = model;
    public long? InputTokens { get; private set; }
    public long? OutputTokens { get; private set; }
    public long? CacheReadTokens { get; private set; }
    public long? CacheCreationTokens { get; private set; }
    public double? CostUsd { get; private set; }
    public bool IsError { get; private set; }
    public bool PromptTooLong => false;
    public string? SessionId { get; init; }
    public long? ContextTokens { get; private set; }
    public string? ResultText { get; private set; }
    public IReadOnlyDictionary<string, long> Tools => _tools;

    /// <summary>How many updates the turn has had (a flood is bounded by the caller).</summary>
    public long Count { get; private set; }

    /// <summary>One <c>session/update</c>'s <c>update</c>: what it adds to the transcript.</summary>
    public List<TranscriptEntry> Read(JsonObject update)
    {
        Count++;
        var entries = new List<TranscriptEntry>();
        var kind = Str(update, "sessionUpdate");
        if (kind is not ("agent_message_chunk" or "agent_thought_chunk")) Flush(entries);
        switch (kind)
        {
            case "agent_message_chunk" when update["content"] is JsonObject content && Str(content, "type") == "text":
                if (_text.Length < StreamJson.MaxText) _text.Append(Str(content, "text"));
                break;
            case "tool_call" or "tool_call_update" when Str(update, "toolCallId") is { Length: > 0 and <= 200 } id:
                var call = Call(id, update);
                if (!call.Shown && (kind == "tool_call_update" || HasInput(update["rawInput"])) || Str(update, "status") is "completed" or "failed")
                    Show(call, entries);
                if (Str(update, "status") is "completed" or "failed")
                {
                    var failed = Str(update, "status") == "failed";
                    entries.Add(new("tool_result", StreamJson.Cut((failed ? "error: " : "") + ContentText(update["content"]), StreamJson.MaxToolResult)));
                }
                break;
            case "plan" when update["entries"] is JsonArray plan:
                entries.Add(new("system", StreamJson.Cut("plan: " + string.Join("; ", plan.OfType<JsonObject>().Select(p => $"{Str(p, "content")} ({Str(p, "status")})")), StreamJson.MaxText)));
                break;
            case "usage_update":
                ContextTokens = Number(update, "used") ?? ContextTokens;
                if (update["cost"] is JsonObject cost && Str(cost, "currency") == "USD" && cost["amount"] is JsonValue amount
                    && amount.TryGetValue<double>(out var usd) && double.IsFinite(usd) && usd is >= 0 and <= 1_000_000)
                    CostUsd = usd;
                break;
        }
        return entries;
    }

    /// <summary>The prompt's answer: its stop reason (the turn's result) and the usage it reports, if any.</summary>
    public List<TranscriptEntry> End(JsonNode? answer)
    {
        var entries = new List<TranscriptEntry>();
        Flush(entries);
        var reason = answer is JsonObject o ? Str(o, "stopReason") : null;
        IsError = reason is null or "refusal";
        ResultText = reason is null ? "the agent's answer named no stop reason" : $"stop reason: {reason}";
        if (answer is JsonObject { } result && result["usage"] is JsonObject usage)
        {
            InputTokens = Number(usage, "inputTokens");
            OutputTokens = Number(usage, "outputTokens");
            CacheReadTokens = Number(usage, "cachedReadTokens");
            CacheCreationTokens = Number(usage, "cachedWriteTokens");
            ContextTokens ??= Number(usage, "totalTokens");
        }
        entries.Add(new("result", ResultText));
        return entries;
    }

    /// <summary>What the turn ends with when the agent gave no answer (it failed, or was stopped): the text so far, then why.</summary>
    public List<TranscriptEntry> Fail(string why)
    {
        var entries = new List<TranscriptEntry>();
        Flush(entries);
        IsError = true;
        ResultText = why;
        entries.Add(new("result", StreamJson.Cut("error: " + why, StreamJson.MaxText)));
        return entries;
    }

    /// <summary>A tool call as the updates told it so far: the adapters send its input and its name in later updates.</summary>
    private sealed class ToolCall
    {
        public string Name { get; set; } = "tool";
        public string? Title { get; set; }
        public string Input { get; set; } = "";
        public bool Shown { get; set; }
    }

    private readonly Dictionary<string, ToolCall> _calls = new(StringComparer.Ordinal);

    /// <summary>The tool a call of this turn is (by its <c>toolCallId</c>: a permission request names the call, not the tool), or null.</summary>
    public string? ToolOf(string toolCallId)
    {
        lock (_calls) return _calls.TryGetValue(toolCallId, out var call) ? call.Name : null;
    }

    private ToolCall Call(string id, JsonObject update)
    {
        ToolCall? call;
        lock (_calls)
            if (!_calls.TryGetValue(id, out call))
            {
                if (_calls.Count >= 10_000) _calls.Clear(); // a turn of more calls than that forgets the oldest names, not memory
                _calls[id] = call = new ToolCall();
            }
        if (update["_meta"]?["claudeCode"]?["toolName"] is JsonValue v && v.TryGetValue<string>(out var name) && name.Length is > 0 and <= 64) call.Name = name;
        else if (McpToolOf(update) is { } mcp) call.Name = mcp;
        else if (call.Name == "tool" && Str(update, "kind") is { Length: > 0 and <= 64 } kind) call.Name = kind;
        if (Str(update, "title") is { } title) call.Title = title;
        if (HasInput(update["rawInput"])) call.Input = update["rawInput"]!.ToJsonString();
        return call;
    }

    /// <summary>The call's line (once, with what is known of it by then), counted under its tool's name.</summary>
    private void Show(ToolCall call, List<TranscriptEntry> entries)
    {
        if (call.Shown) return;
        call.Shown = true;
        _tools[call.Name] = _tools.GetValueOrDefault(call.Name) + 1;
        entries.Add(new("tool_use", StreamJson.Cut($"{call.Title} {call.Input}".Trim(), StreamJson.MaxToolInput), call.Name));
    }

    private static bool HasInput(JsonNode? input) => input is JsonObject { Count: > 0 } or JsonArray { Count: > 0 } or JsonValue;

    private void Flush(List<TranscriptEntry> entries)
    {
        if (_text.Length == 0) return;
        entries.Add(new("text", StreamJson.Cut(_text.ToString(), StreamJson.MaxText)));
        _text.Clear();
    }

    /// <summary>A tool call's content as text: its text blocks, a diff's path, a terminal's id.</summary>
    private static string ContentText(JsonNode? content) => content is not JsonArray blocks ? ""
        : string.Join("\n", blocks.OfType<JsonObject>().Select(b => Str(b, "type") switch
        {
            "content" when b["content"] is JsonObject inner => Str(inner, "text") ?? "",
            "diff" => $"diff of {Str(b, "path")}",
            "terminal" => $"terminal {Str(b, "terminalId")}",
            _ => "",
        }).Where(t => t.Length > 0));

    /// <summary>
    /// The MCP tool a call names, in Claude Code's spelling <c>mcp__SERVER__TOOL</c> (the one the hive's permissions name),
    /// from the way each agent tells it: Codex's <c>rawInput</c> <c>{server, tool, arguments}</c>, Gemini CLI's title
    /// <c>TOOL (SERVER MCP Server)</c>, opencode's title <c>SERVER_TOOL</c> on a call of kind <c>other</c> (only for the
    /// hive's server: the harness passes no other, and a server's name may itself hold <c>_</c>); else null.
    /// </summary>
    internal static string? McpToolOf(JsonObject call)
    {
        if (call["rawInput"] is JsonObject input && Str(input, "server") is { Length: > 0 and <= 64 } server && Str(input, "tool") is { Length: > 0 and <= 128 } tool)
            return $"mcp__{server}__{tool}";
        if (Str(call, "title") is not { Length: > 0 and <= 256 } title) return null;
        if (GeminiMcpTitle().Match(title) is { Success: true } gemini) return $"mcp__{gemini.Groups[2].Value}__{gemini.Groups[1].Value}";
        const string hivePrefix = StreamJson.HiveServer + "_";
        return Str(call, "kind") is null or "other" && title.StartsWith(hivePrefix, StringComparison.Ordinal) && ToolName().IsMatch(title[hivePrefix.Length..])
            ? $"mcp__{StreamJson.HiveServer}__{title[hivePrefix.Length..]}" : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^([A-Za-z0-9_-]{1,128}) \(([A-Za-z0-9_-]{1,64}) MCP Server\)$")]
    private static partial System.Text.RegularExpressions.Regex GeminiMcpTitle();

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_-]{1,128}$")]
    private static partial System.Text.RegularExpressions.Regex ToolName();

    internal static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static long? Number(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<long>(out var n) && n >= 0 ? n : null;
}
