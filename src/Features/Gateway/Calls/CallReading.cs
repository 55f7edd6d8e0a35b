using System.Text;
using System.Text.Json;
using Hive.Contracts.Gateway;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// A recorded call as a person reads it: the system prompt's start, the conversation's last messages (each a role and its
/// parts: text, a tool call with its input, a tool's result), and the answer (its text and tool calls, assembled from the
/// stream when it streamed). Long texts are cut, saying so; the raw bodies stay available beside it. Gemini's calls are
/// read by <see cref="GeminiReading"/>.
/// </summary>
public static class CallReading
{
    internal const int LastMessages = 6;
    private const int MaxText = 4000;

    public static CallReadingView Of(string protocol, byte[]? request, byte[]? response)
    {
        if (protocol == ProviderProtocols.Gemini) return GeminiReading.Of(request, response);
        string? system = null;
        var messages = new List<CallMessageView>();
        if (request is not null && TryParse(request) is { ValueKind: JsonValueKind.Object } body)
        {
            if (body.TryGetProperty("system", out var s)) system = Cut(s.ValueKind == JsonValueKind.String ? s.GetString() ?? "" : TextOf(s));
            if (body.TryGetProperty("messages", out var list) && list.ValueKind == JsonValueKind.Array)
                messages.AddRange(list.EnumerateArray().Select(MessageOf));
            else if (body.TryGetProperty("input", out var input))
                messages.AddRange(input.ValueKind == JsonValueKind.Array ? input.EnumerateArray().Select(MessageOf) : [new CallMessageView("user", [new CallPartView("text", Cut(input.ToString()))])]);
            if (system is null && messages.FirstOrDefault(m => m.Role is "system" or "developer") is { } first)
                system = string.Join("\n", first.Parts.Select(p => p.Text));
        }
        var (answer, stop) = response is null ? (null, null) : AnswerOf(protocol, response);
        return new CallReadingView(system, messages.Count, messages.TakeLast(LastMessages).ToList(), answer, stop);
    }

    private static JsonElement? TryParse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return JsonDocument.Parse(bytes.ToArray()).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static CallMessageView MessageOf(JsonElement message)
    {
        var role = message.TryGetProperty("role", out var r) ? r.GetString() ?? "?" : message.TryGetProperty("type", out var t) ? t.GetString() ?? "?" : "?";
        var parts = new List<CallPartView>();
        if (message.TryGetProperty("content", out var content))
        {
            if (content.ValueKind == JsonValueKind.String) parts.Add(new CallPartView("text", Cut(content.GetString() ?? "")));
            else if (content.ValueKind == JsonValueKind.Array) parts.AddRange(content.EnumerateArray().Select(PartOf));
        }
        if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
            foreach (var call in calls.EnumerateArray())
                if (call.TryGetProperty("function", out var f))
                    parts.Add(new CallPartView("tool_use", Cut(f.TryGetProperty("arguments", out var a) ? a.ToString() : ""), f.TryGetProperty("name", out var n) ? n.GetString() : null));
        if (role == "tool") parts = parts.Select(p => p with { Kind = "tool_result" }).ToList();
        return new CallMessageView(role, parts);
    }

    private static CallPartView PartOf(JsonElement block)
    {
        var type = block.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        return type switch
        {
            "text" or "input_text" or "output_text" => new CallPartView("text", Cut(block.TryGetProperty("text", out var x) ? x.GetString() ?? "" : "")),
            "tool_use" => new CallPartView("tool_use", Cut(block.TryGetProperty("input", out var i) ? i.GetRawText() : ""), block.TryGetProperty("name", out var n) ? n.GetString() : null),
            "tool_result" => new CallPartView("tool_result", Cut(block.TryGetProperty("content", out var c) ? (c.ValueKind == JsonValueKind.String ? c.GetString() ?? "" : TextOf(c)) : ""),
                block.TryGetProperty("is_error", out var e) && e.ValueKind == JsonValueKind.True ? "error" : null),
            "thinking" => new CallPartView("thinking", Cut(block.TryGetProperty("thinking", out var th) ? th.GetString() ?? "" : "")),
            _ => new CallPartView(type.Length > 0 ? type : "other", Cut(block.GetRawText())),
        };
    }

    /// <summary>One item of a Responses API answer's <c>output</c>: a message's parts, or a function call.</summary>
    private static IEnumerable<CallPartView> OutputParts(JsonElement item)
    {
        var type = item.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type == "message" && item.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
            return content.EnumerateArray().Select(PartOf);
        if (type == "function_call")
            return [new CallPartView("tool_use", Cut(item.TryGetProperty("arguments", out var a) ? a.ToString() : ""), item.TryGetProperty("name", out var n) ? n.GetString() : null)];
        return [];
    }

    private static string TextOf(JsonElement blocks) => blocks.ValueKind == JsonValueKind.Array
        ? string.Join("\n", blocks.EnumerateArray().Select(b => b.TryGetProperty("text", out var x) ? x.GetString() : b.ValueKind == JsonValueKind.String ? b.GetString() : null)
            .Where(x => x is not null))
        : blocks.ToString();

    private static (CallMessageView?, string?) AnswerOf(string protocol, byte[] response)
    {
        if (TryParse(response) is { ValueKind: JsonValueKind.Object } whole)
        {
            // A Responses API answer carries "error": null when it went well.
            if (whole.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                return (new CallMessageView("error", [new CallPartView("text", Cut(error.ToString()))]), null);
            if (whole.TryGetProperty("output", out var output) && output.ValueKind == JsonValueKind.Array)
                return (new CallMessageView("assistant", output.EnumerateArray().SelectMany(OutputParts).ToList()),
                    whole.TryGetProperty("status", out var status) ? status.ToString() : null);
            if (whole.TryGetProperty("content", out _)) return (MessageOf(whole), whole.TryGetProperty("stop_reason", out var s) ? s.ToString() : null);
            if (whole.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0].TryGetProperty("message", out var m))
                return (MessageOf(m), choices[0].TryGetProperty("finish_reason", out var f) ? f.ToString() : null);
            return (new CallMessageView("assistant", [new CallPartView("other", Cut(whole.GetRawText()))]), null);
        }
        return Streamed(protocol, Encoding.UTF8.GetString(response));
    }

    /// <summary>The stream's events put back together: text deltas joined, a tool call's input pieces joined.</summary>
    private static (CallMessageView?, string?) Streamed(string protocol, string stream)
    {
        var blocks = new SortedDictionary<int, (string Kind, string? Name, StringBuilder Text)>();
        string? stop = null;
        foreach (var line in stream.Split('\n'))
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
            if (TryParse(Encoding.UTF8.GetBytes(line[5..].Trim())) is not { ValueKind: JsonValueKind.Object } data) continue;
            var type = data.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (protocol == ProviderProtocols.Anthropic)
            {
                var index = data.TryGetProperty("index", out var i) && i.TryGetInt32(out var n) ? n : 0;
                if (type == "content_block_start" && data.TryGetProperty("content_block", out var block))
                    blocks[index] = (block.TryGetProperty("type", out var k) ? k.GetString() ?? "text" : "text", block.TryGetProperty("name", out var nm) ? nm.GetString() : null, new StringBuilder());
                else if (type == "content_block_delta" && data.TryGetProperty("delta", out var delta) && blocks.TryGetValue(index, out var b))
                    b.Text.Append(delta.TryGetProperty("text", out var x) ? x.GetString() : delta.TryGetProperty("partial_json", out var pj) ? pj.GetString()
                        : delta.TryGetProperty("thinking", out var th) ? th.GetString() : null);
                else if (type == "message_delta" && data.TryGetProperty("delta", out var md) && md.TryGetProperty("stop_reason", out var sr)) stop = sr.ToString();
                else if (type == "error") blocks[int.MaxValue] = ("error", null, new StringBuilder(data.ToString()));
            }
            else if (data.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                if (choice.TryGetProperty("delta", out var delta))
                {
                    if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                    {
                        if (!blocks.ContainsKey(0)) blocks[0] = ("text", null, new StringBuilder());
                        blocks[0].Text.Append(c.GetString());
                    }
                    if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                        foreach (var call in calls.EnumerateArray())
                        {
                            var index = 1 + (call.TryGetProperty("index", out var ci) && ci.TryGetInt32(out var n) ? n : 0);
                            var f = call.TryGetProperty("function", out var fn) ? fn : default;
                            if (!blocks.ContainsKey(index))
                                blocks[index] = ("tool_use", f.ValueKind == JsonValueKind.Object && f.TryGetProperty("name", out var nm) ? nm.GetString() : null, new StringBuilder());
                            if (f.ValueKind == JsonValueKind.Object && f.TryGetProperty("arguments", out var args)) blocks[index].Text.Append(args.GetString());
                        }
                }
                if (choice.TryGetProperty("finish_reason", out var fr) && fr.ValueKind == JsonValueKind.String) stop = fr.GetString();
            }
            else if (type == "response.output_text.delta" && data.TryGetProperty("delta", out var od))
            {
                if (!blocks.ContainsKey(0)) blocks[0] = ("text", null, new StringBuilder());
                blocks[0].Text.Append(od.GetString());
            }
        }
        if (blocks.Count == 0) return (null, stop);
        return (new CallMessageView("assistant", blocks.Values.Select(b => new CallPartView(b.Kind, Cut(b.Text.ToString()), b.Name)).ToList()), stop);
    }

    internal static string Cut(string text) => text.Length <= MaxText ? text : text[..MaxText] + $"… ({text.Length - MaxText} more characters)";
}
