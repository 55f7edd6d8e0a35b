using System.Text;
using System.Text.Json;
using Hive.Contracts.Gateway;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// A recorded Gemini call as a person reads it (<see cref="CallReading"/> for the others): the request's
/// <c>systemInstruction</c> and <c>contents</c> (roles <c>user</c> and <c>model</c>; parts of text, thought, a
/// <c>functionCall</c>, a <c>functionResponse</c>), and the answer's candidate put back together from its chunks (SSE, one
/// JSON array, or one whole response): texts joined, each function call a part of its own.
/// </summary>
internal static class GeminiReading
{
    public static CallReadingView Of(byte[]? request, byte[]? response)
    {
        string? system = null;
        var messages = new List<CallMessageView>();
        if (request is not null && Parse(request) is { ValueKind: JsonValueKind.Object } body)
        {
            if (body.TryGetProperty("systemInstruction", out var instruction))
                system = CallReading.Cut(instruction.ValueKind == JsonValueKind.String
                    ? instruction.GetString() ?? ""
                    : string.Join("\n", PartsOf(instruction).Select(p => p.Text)));
            if (body.TryGetProperty("contents", out var contents) && contents.ValueKind == JsonValueKind.Array)
                messages.AddRange(contents.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.Object)
                    .Select(c => new CallMessageView(c.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "user", PartsOf(c))));
        }
        var (answer, stop) = response is null ? (null, null) : AnswerOf(response);
        return new CallReadingView(system, messages.Count, messages.TakeLast(CallReading.LastMessages).ToList(), answer, stop);
    }

    private static JsonElement? Parse(ReadOnlySpan<byte> bytes)
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

    /// <summary>A <c>Content</c>'s parts.</summary>
    private static List<CallPartView> PartsOf(JsonElement content) =>
        content.ValueKind == JsonValueKind.Object && content.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array
            ? parts.EnumerateArray().Where(p => p.ValueKind == JsonValueKind.Object).Select(PartOf).ToList()
            : [];

    private static CallPartView PartOf(JsonElement part)
    {
        if (part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            return new CallPartView(part.TryGetProperty("thought", out var t) && t.ValueKind == JsonValueKind.True ? "thinking" : "text", CallReading.Cut(text.GetString() ?? ""));
        if (part.TryGetProperty("functionCall", out var call) && call.ValueKind == JsonValueKind.Object)
            return new CallPartView("tool_use", CallReading.Cut(call.TryGetProperty("args", out var args) ? args.GetRawText() : "{}"), NameOf(call));
        if (part.TryGetProperty("functionResponse", out var result) && result.ValueKind == JsonValueKind.Object)
        {
            var answer = result.TryGetProperty("response", out var r) ? r : default;
            // Gemini CLI sends a tool's output as {"output": "..."} and a refused or failed call as {"error": "..."}.
            var error = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("error", out var e) ? e : default;
            var shown = error.ValueKind != JsonValueKind.Undefined ? error
                : answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("output", out var o) ? o : answer;
            return new CallPartView("tool_result", CallReading.Cut(shown.ValueKind switch
            {
                JsonValueKind.String => shown.GetString() ?? "",
                JsonValueKind.Undefined => "",
                _ => shown.GetRawText(),
            }), error.ValueKind != JsonValueKind.Undefined ? "error" : null);
        }
        if (part.TryGetProperty("inlineData", out var data) && data.ValueKind == JsonValueKind.Object)
            return new CallPartView("inline_data", $"({(data.TryGetProperty("mimeType", out var mime) ? mime.GetString() : "data")}, "
                + $"{(data.TryGetProperty("data", out var bytes) && bytes.ValueKind == JsonValueKind.String ? bytes.GetString()!.Length : 0)} characters of base64)");
        return new CallPartView("other", CallReading.Cut(part.GetRawText()));
    }

    private static string? NameOf(JsonElement call) =>
        call.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null;

    /// <summary>The answer's chunks: an SSE stream's <c>data:</c> lines, a JSON array's items, or the one response.</summary>
    private static IEnumerable<JsonElement> ChunksOf(byte[] response)
    {
        if (Parse(response) is { } whole)
            return whole.ValueKind == JsonValueKind.Array ? whole.EnumerateArray().ToList() : [whole];
        return Encoding.UTF8.GetString(response).Split('\n')
            .Where(line => line.StartsWith("data:", StringComparison.Ordinal))
            .Select(line => Parse(Encoding.UTF8.GetBytes(line[5..].Trim())))
            .OfType<JsonElement>();
    }

    private static (CallMessageView?, string?) AnswerOf(byte[] response)
    {
        var parts = new List<(string Kind, string? Name, StringBuilder Text)>();
        string? stop = null;
        foreach (var chunk in ChunksOf(response).Where(c => c.ValueKind == JsonValueKind.Object))
        {
            if (chunk.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                parts.Add(("error", null, new StringBuilder(error.GetRawText())));
                continue;
            }
            if (!chunk.TryGetProperty("candidates", out var candidates) || candidates.ValueKind != JsonValueKind.Array || candidates.GetArrayLength() == 0)
            {
                // countTokens' {"totalTokens": …}, or a chunk of usage only
                if (!chunk.TryGetProperty("usageMetadata", out _)) parts.Add(("other", null, new StringBuilder(chunk.GetRawText())));
                continue;
            }
            var candidate = candidates[0];
            if (candidate.TryGetProperty("finishReason", out var finish) && finish.ValueKind == JsonValueKind.String) stop = finish.GetString();
            if (!candidate.TryGetProperty("content", out var content)) continue;
            foreach (var part in PartsOf(content))
            {
                // A text streamed in pieces reads as one text; a function call is a part of its own.
                if (part.Kind is "text" or "thinking" && parts.Count > 0 && parts[^1].Kind == part.Kind) parts[^1].Text.Append(part.Text);
                else parts.Add((part.Kind, part.Name, new StringBuilder(part.Text)));
            }
        }
        if (parts.Count == 0) return (null, stop);
        var role = parts.All(p => p.Kind == "error") ? "error" : "model";
        return (new CallMessageView(role, parts.Select(p => new CallPartView(p.Kind, CallReading.Cut(p.Text.ToString()), p.Name)).ToList()), stop);
    }
}
