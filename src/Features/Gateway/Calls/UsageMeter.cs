using System.Text.Json;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// Reads a call's usage out of the response as it passes, without holding it: a stream (SSE) line by line, looking only
/// at <c>data:</c> lines that carry usage; a plain JSON body whole, at its end (bounded). Anthropic: <c>message_start</c>'s
/// <c>message.usage</c> (input and cache tokens, and the model), then each <c>message_delta</c>'s <c>usage</c> (output so far,
/// and any input figures it restates); OpenAI: the final chunk's <c>usage</c> (chat completions, asked for with
/// <c>stream_options.include_usage</c>) or <c>response.completed</c>'s <c>response.usage</c> (responses); Gemini: each
/// chunk's <c>usageMetadata</c> (cumulative: the last wins) and <c>modelVersion</c>, in SSE or in one JSON array.
/// </summary>
internal sealed class UsageMeter(string protocol, bool streamed)
{
    /// <summary>A line (or a whole JSON body) longer than this is not read for usage: usage never sits in one so long.</summary>
    private const int MaxLineBytes = 8 * 1024 * 1024;

    private byte[] _line = new byte[4096];
    private int _length;
    private bool _skipping;

    public long Input { get; private set; }
    public long Output { get; private set; }
    public long CacheRead { get; private set; }
    public long CacheWrite { get; private set; }
    public string? Model { get; private set; }

    /// <summary>The provider said the call failed inside a 200 stream (an <c>error</c> event); its message.</summary>
    public string? StreamError { get; private set; }

    public Usage Usage => new(Input, Output, CacheRead, CacheWrite);

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        if (!streamed)
        {
            Append(bytes);
            return;
        }
        while (bytes.Length > 0)
        {
            var newline = bytes.IndexOf((byte)'\n');
            if (newline < 0)
            {
                Append(bytes);
                return;
            }
            Append(bytes[..newline]);
            if (!_skipping) ReadLine(_line.AsSpan(0, _length));
            _length = 0;
            _skipping = false;
            bytes = bytes[(newline + 1)..];
        }
    }

    /// <summary>The body ended: a plain JSON body is read now.</summary>
    public void Complete()
    {
        if (streamed)
        {
            if (_length > 0 && !_skipping) ReadLine(_line.AsSpan(0, _length));
        }
        else if (!_skipping && _length > 0)
        {
            try
            {
                using var doc = JsonDocument.Parse(_line.AsMemory(0, _length));
                // Gemini's stream without alt=sse is one JSON array of its chunks.
                if (doc.RootElement.ValueKind == JsonValueKind.Array)
                    foreach (var chunk in doc.RootElement.EnumerateArray()) ReadObject(chunk);
                else ReadObject(doc.RootElement);
            }
            catch (JsonException)
            {
                // not JSON: no usage to read
            }
        }
        _length = 0;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_skipping) return;
        if (_length + bytes.Length > MaxLineBytes)
        {
            _skipping = true;
            _length = 0;
            return;
        }
        if (_length + bytes.Length > _line.Length) Array.Resize(ref _line, Math.Max(_line.Length * 2, _length + bytes.Length));
        bytes.CopyTo(_line.AsSpan(_length));
        _length += bytes.Length;
    }

    private void ReadLine(ReadOnlySpan<byte> line)
    {
        if (!line.StartsWith("data:"u8)) return;
        var data = line[5..].Trim((byte)' ').TrimEnd((byte)'\r');
        // Only lines that can carry usage, a model or an error are parsed: content deltas pass untouched.
        if (data.IndexOf("\"usage\""u8) < 0 && data.IndexOf("\"error\""u8) < 0 && data.IndexOf("\"message_start\""u8) < 0
            && data.IndexOf("\"usageMetadata\""u8) < 0) return;
        try
        {
            using var doc = JsonDocument.Parse(data.ToArray());
            ReadObject(doc.RootElement);
        }
        catch (JsonException)
        {
            // a line that is not JSON ([DONE]) carries nothing
        }
    }

    private void ReadObject(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) return;
        var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        // Anthropic's error event and an OpenAI chat stream's error chunk carry {"error":{message}}; the Responses API's
        // error event has its message at the top, and response.failed in its response's error.
        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
            && (type == "error" || protocol is ProviderProtocols.OpenAi or ProviderProtocols.Gemini))
        {
            StreamError = error.TryGetProperty("message", out var m) ? m.ToString() : error.ToString();
            return;
        }
        if (protocol == ProviderProtocols.OpenAi && type == "error")
        {
            StreamError = root.TryGetProperty("message", out var m) ? m.ToString() : root.ToString();
            return;
        }
        if (protocol == ProviderProtocols.OpenAi && type == "response.failed" && root.TryGetProperty("response", out var failed)
            && failed.TryGetProperty("error", out var why) && why.ValueKind == JsonValueKind.Object)
            StreamError = why.TryGetProperty("message", out var m) ? m.ToString() : why.ToString();
        if (protocol == ProviderProtocols.Gemini)
        {
            ReadGemini(root);
            return;
        }
        if (protocol == ProviderProtocols.Anthropic)
        {
            var message = type == "message_start" && root.TryGetProperty("message", out var inner) ? inner : root;
            if (message.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String) Model = model.GetString();
            if (message.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                // message_delta's figures are cumulative: each one replaces what came before.
                if (Number(usage, "input_tokens") is { } input) Input = input;
                if (Number(usage, "output_tokens") is { } output) Output = output;
                if (Number(usage, "cache_read_input_tokens") is { } read) CacheRead = read;
                if (Number(usage, "cache_creation_input_tokens") is { } write) CacheWrite = write;
            }
            return;
        }
        var body = type is "response.completed" or "response.incomplete" or "response.failed" && root.TryGetProperty("response", out var response) ? response : root;
        if (body.TryGetProperty("model", out var m2) && m2.ValueKind == JsonValueKind.String) Model = m2.GetString();
        if (body.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
        {
            // chat: prompt_tokens includes the cached ones (and those written to the cache: its details are a breakdown);
            // responses: input_tokens does. Stored apart, as Anthropic counts them.
            var details = u.TryGetProperty("prompt_tokens_details", out var pd) && pd.ValueKind == JsonValueKind.Object ? pd
                : u.TryGetProperty("input_tokens_details", out var id) && id.ValueKind == JsonValueKind.Object ? id : (JsonElement?)null;
            var input = Number(u, "prompt_tokens") ?? Number(u, "input_tokens") ?? 0;
            CacheRead = details is { } d1 ? Number(d1, "cached_tokens") ?? 0 : 0;
            CacheWrite = details is { } d2 ? Number(d2, "cache_write_tokens") ?? 0 : 0;
            Input = Math.Max(0, input - CacheRead - CacheWrite);
            Output = Number(u, "completion_tokens") ?? Number(u, "output_tokens") ?? 0;
        }
    }

    /// <summary>
    /// A Gemini chunk: its prompt counts the cached tokens (stored apart, as Anthropic counts them), and a tool-use prompt
    /// (a built-in tool's) is input it does not count; thoughts are output as the candidates are.
    /// </summary>
    private void ReadGemini(JsonElement chunk)
    {
        if (chunk.TryGetProperty("modelVersion", out var version) && version.ValueKind == JsonValueKind.String) Model = version.GetString();
        if (!chunk.TryGetProperty("usageMetadata", out var u) || u.ValueKind != JsonValueKind.Object) return;
        CacheRead = Number(u, "cachedContentTokenCount") ?? 0;
        Input = Math.Max(0, (Number(u, "promptTokenCount") ?? 0) - CacheRead) + (Number(u, "toolUsePromptTokenCount") ?? 0);
        Output = (Number(u, "candidatesTokenCount") ?? 0) + (Number(u, "thoughtsTokenCount") ?? 0);
        CacheWrite = 0;
    }

    private static long? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) && n >= 0 ? n : null;
}
