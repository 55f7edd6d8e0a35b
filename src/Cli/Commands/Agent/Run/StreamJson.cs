using System.Text;
using System.Text.Json;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>One line of a live transcript, as the <c>transcript</c> verb takes it.</summary>
internal sealed record TranscriptEntry(string Kind, string Text, string? Tool = null);

/// <summary>What a turn's agent said of the turn: its model, tokens, cost, tool calls and how it ended, as <c>record_turn</c> reports them.</summary>
internal interface ITurnStats
{
    string? Model { get; }
    long? InputTokens { get; }
    long? OutputTokens { get; }
    long? CacheReadTokens { get; }
    long? CacheCreationTokens { get; }
    double? CostUsd { get; }
    bool IsError { get; }
    bool PromptTooLong { get; }

    /// <summary>The conversation the turn ran in, to resume.</summary>
    string? SessionId { get; }

    /// <summary>The context the conversation ended with, in tokens (what the next turn starts from).</summary>
    long? ContextTokens { get; }

    /// <summary>How the agent ended the turn, in its words (the answer, or what went wrong when <see cref="IsError"/>).</summary>
    string? ResultText { get; }

    IReadOnlyDictionary<string, long> Tools { get; }
}

/// <summary>
/// What Claude Code's <c>--output-format stream-json</c> says of a turn, and each line as transcript entries (assistant
/// text, tool calls with their input summarised, tool results truncated, the result line; a line that is not stream-json
/// is plain <c>output</c>).
/// </summary>
internal sealed class StreamJson : ITurnStats
{
    /// <summary>Characters kept of one entry: the page shows what happened, the program's own log keeps the rest.</summary>
    public const int MaxText = 4000;
    public const int MaxToolInput = 300;
    public const int MaxToolResult = 1000;

    public string? Model { get; private set; }
    public long? InputTokens { get; private set; }
    public long? OutputTokens { get; private set; }
    public long? CacheReadTokens { get; private set; }
    public long? CacheCreationTokens { get; private set; }
    public double? CostUsd { get; private set; }
    public bool IsError { get; private set; }
    public bool PromptTooLong { get; private set; }

    /// <summary>The session the program runs (the init line's and the result line's <c>session_id</c>).</summary>
    public string? SessionId { get; private set; }

    /// <summary>
    /// The context the conversation ended with: the last assistant message's input (with the cache) plus its output,
    /// the size the next turn starts from. The result line's usage is summed over the turn's calls, so it is only the fallback.
    /// </summary>
    public long? ContextTokens { get; private set; }

    /// <summary>The <c>result</c> line's text (the answer, or what went wrong when <see cref="IsError"/>).</summary>
    public string? ResultText { get; private set; }

    public Dictionary<string, long> Tools { get; } = new(StringComparer.Ordinal);

    IReadOnlyDictionary<string, long> ITurnStats.Tools => Tools;

    /// <summary>The name of the MCP server that carries the hive's tools (the preset's <c>--mcp-config</c>).</summary>
    public const string HiveServer = "hive";

    /// <summary>
    /// The hive's MCP server as Claude Code reported it: null until the init line, then its <c>mcp_servers</c> status of
    /// <see cref="HiveServer"/> (<c>connected</c>, <c>failed</c>, <c>pending</c>..., or <c>missing</c> when not listed);
    /// a tool result saying that server is not connected (or still connecting) later in the turn overrides it.
    /// </summary>
    public string? HiveServerStatus { get; private set; }

    /// <summary>Whether the hive's MCP server was shown connected at the init line and never failed after.</summary>
    public bool HiveServerConnected => HiveServerStatus == "connected";

    /// <summary>Reads one line of COMMAND's stdout; returns what it adds to the transcript.</summary>
    public List<TranscriptEntry> Read(string line)
    {
        var entries = new List<TranscriptEntry>();
        if (!line.StartsWith('{'))
        {
            if (line.Length > 0) entries.Add(new("output", Cut(line, MaxText)));
            return entries;
        }
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                entries.Add(new("output", Cut(line, MaxText)));
                return entries;
            }
            if (Str(root, "session_id") is { Length: > 0 and <= 128 } session) SessionId = session;
            switch (Str(root, "type"))
            {
                case "system" when Str(root, "subtype") == "init":
                    entries.Add(new("system", $"session {SessionId ?? "?"}, model {Str(root, "model") ?? "?"}"));
                    HiveServerStatus = "missing";
                    if (root.TryGetProperty("mcp_servers", out var servers) && servers.ValueKind == JsonValueKind.Array)
                        foreach (var server in servers.EnumerateArray())
                            if (server.ValueKind == JsonValueKind.Object && Str(server, "name") == HiveServer)
                                HiveServerStatus = Cut(Str(server, "status") ?? "unknown", 40);
                    break;
                case "assistant" when root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object:
                    if (Str(message, "model") is { } model) Model = model;
                    if (message.TryGetProperty("usage", out var used) && used.ValueKind == JsonValueKind.Object)
                        ContextTokens = (Number(used, "input_tokens") ?? 0) + (Number(used, "cache_read_input_tokens") ?? 0)
                                        + (Number(used, "cache_creation_input_tokens") ?? 0) + (Number(used, "output_tokens") ?? 0);
                    if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                        foreach (var block in content.EnumerateArray())
                        {
                            if (block.ValueKind != JsonValueKind.Object) continue;
                            switch (Str(block, "type"))
                            {
                                case "text" when Str(block, "text") is { Length: > 0 } text:
                                    entries.Add(new("text", Cut(text, MaxText)));
                                    break;
                                case "tool_use" when Str(block, "name") is { Length: > 0 and <= 64 } tool:
                                    Tools[tool] = Tools.GetValueOrDefault(tool) + 1;
                                    var input = block.TryGetProperty("input", out var i) ? i.GetRawText() : "";
                                    entries.Add(new("tool_use", Cut(input, MaxToolInput), tool));
                                    break;
                            }
                        }
                    break;
                case "user" when root.TryGetProperty("message", out var said) && said.ValueKind == JsonValueKind.Object
                                 && said.TryGetProperty("content", out var results) && results.ValueKind == JsonValueKind.Array:
                    foreach (var block in results.EnumerateArray())
                        if (block.ValueKind == JsonValueKind.Object && Str(block, "type") == "tool_result")
                        {
                            var error = block.TryGetProperty("is_error", out var e) && e.ValueKind == JsonValueKind.True;
                            var text = block.TryGetProperty("content", out var c) ? Flatten(c) : "";
                            if (error && HiveServerStatus is not null && NotConnected(text)) HiveServerStatus = "not connected when called";
                            entries.Add(new("tool_result", Cut((error ? "error: " : "") + text, MaxToolResult)));
                        }
                    break;
                case "result":
                    IsError = root.TryGetProperty("is_error", out var isError) && isError.ValueKind == JsonValueKind.True;
                    ResultText = Str(root, "result");
                    PromptTooLong = ResultText?.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase) == true;
                    if (root.TryGetProperty("total_cost_usd", out var cost) && cost.ValueKind == JsonValueKind.Number
                        && cost.TryGetDouble(out var usd) && double.IsFinite(usd) && usd is >= 0 and <= 1_000_000)
                        CostUsd = usd;
                    if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                    {
                        InputTokens = Number(usage, "input_tokens");
                        OutputTokens = Number(usage, "output_tokens");
                        CacheReadTokens = Number(usage, "cache_read_input_tokens");
                        CacheCreationTokens = Number(usage, "cache_creation_input_tokens");
                        ContextTokens ??= (InputTokens ?? 0) + (CacheReadTokens ?? 0) + (CacheCreationTokens ?? 0) + (OutputTokens ?? 0);
                    }
                    entries.Add(new("result", Cut((IsError ? "error: " : "") + (ResultText ?? Str(root, "subtype") ?? ""), MaxText)));
                    break;
            }
        }
        catch (JsonException)
        {
            entries.Add(new("output", Cut(line, MaxText)));
        }
        return entries;
    }

    /// <summary>
    /// Claude Code's words for a call of the hive's tool whose server is not there ("MCP server 'hive' is still
    /// connecting", "... is not connected").
    /// </summary>
    private static bool NotConnected(string text) =>
        (text.Contains($"MCP server '{HiveServer}'", StringComparison.Ordinal) || text.Contains($"MCP server \"{HiveServer}\"", StringComparison.Ordinal))
        && (text.Contains("still connecting", StringComparison.Ordinal) || text.Contains("not connected", StringComparison.Ordinal));

    private static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A tool result's content: a string, or the text of its blocks.</summary>
    private static string Flatten(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String) return content.GetString() ?? "";
        if (content.ValueKind != JsonValueKind.Array) return content.GetRawText();
        var text = new StringBuilder();
        foreach (var block in content.EnumerateArray())
            if (block.ValueKind == JsonValueKind.Object && Str(block, "text") is { } t) text.Append(t).Append('\n');
            else if (block.ValueKind == JsonValueKind.Object && Str(block, "type") is { } type) text.Append('[').Append(type).Append("]\n");
        return text.ToString().TrimEnd('\n');
    }

    /// <summary>At most <paramref name="max"/> characters, never half a surrogate pair, "…" when cut.</summary>
    public static string Cut(string text, int max)
    {
        if (text.Length <= max) return text;
        var end = char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        return text[..end] + "…";
    }

    private static long? Number(JsonElement usage, string name) =>
        usage.TryGetProperty(name, out var value) && value.TryGetInt64(out var n) && n >= 0 ? n : null;
}
