using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// An agent's model call as it comes to its door: the paths a protocol serves, the key presented, the body (bounded) and
/// what it asks (its model, whether it streams).
/// </summary>
internal static partial class ModelCallRequest
{
    public static string[] PathsOf(string protocol) => protocol switch
    {
        ProviderProtocols.OpenAi => ["/v1/chat/completions", "/v1/responses"],
        ProviderProtocols.Gemini => ["/v1beta/models/{model}:generateContent", "/v1beta/models/{model}:streamGenerateContent", "/v1beta/models/{model}:countTokens"],
        _ => ["/v1/messages", "/v1/messages/count_tokens"],
    };

    public static bool Serves(string protocol, string path) =>
        protocol == ProviderProtocols.Gemini ? GeminiPath().IsMatch(path) : PathsOf(protocol).Contains(path, StringComparer.Ordinal);

    /// <summary>Why the door does not take this call, as a status and a sentence; null when it does.</summary>
    public static (int Status, string Message)? Refusal(string protocol, string method, string path, string provider)
    {
        if (!Serves(protocol, path) || !HttpMethods.IsPost(method))
            return (404, $"hive: the gateway serves POST {string.Join(", POST ", PathsOf(protocol))} for {provider}, not {method} {path}");
        // The model is in the path, and the path goes upstream as it is: only a model's name may be there.
        if (protocol == ProviderProtocols.Gemini && GeminiPath().Match(path).Groups["model"].Value is var model && !GeminiModel().IsMatch(model))
            return (400, $"hive: '{model}' is not a model's name (^[A-Za-z0-9][A-Za-z0-9._-]{{0,127}}$)");
        return null;
    }

    /// <summary>
    /// The protocol a path speaks: a call row's bodies are read by it, and the refusals that come before the agent's
    /// provider is known (an unknown agent, a provider not served) are written in it, so its client reads them.
    /// </summary>
    public static string ProtocolOf(string path) =>
        path.StartsWith("/v1beta/", StringComparison.Ordinal) ? ProviderProtocols.Gemini
        : path.StartsWith("/v1/chat", StringComparison.Ordinal) || path == "/v1/responses" ? ProviderProtocols.OpenAi
        : ProviderProtocols.Anthropic;

    [GeneratedRegex("^/v1beta/models/(?<model>[^/:]+):(?<method>generateContent|streamGenerateContent|countTokens)$")]
    private static partial Regex GeminiPath();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex GeminiModel();

    /// <summary>The placeholder as the agent's client sends it; Gemini's REST form may put it in the query (<c>?key=</c>).</summary>
    public static string? PresentedKey(HttpRequest request, string protocol)
    {
        if (request.Headers["x-api-key"] is { Count: 1 } apiKey) return apiKey[0];
        if (request.Headers["api-key"] is { Count: 1 } azureKey) return azureKey[0];
        if (request.Headers["x-goog-api-key"] is { Count: 1 } googKey) return googKey[0];
        if (AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var auth) && auth.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            return auth.Parameter;
        if (protocol == ProviderProtocols.Gemini && request.Query["key"] is { Count: 1 } queryKey) return queryKey[0];
        return null;
    }

    /// <summary>
    /// The body, up to <paramref name="max"/> bytes; a longer one is a 413, thrown after reading the rest of it (up to
    /// <paramref name="drainUpTo"/>, thrown away) so that its client, still sending, gets to read the refusal.
    /// </summary>
    public static async Task<byte[]> ReadBodyAsync(HttpRequest request, long max, long drainUpTo, CancellationToken cancellationToken)
    {
        if (request.ContentLength > drainUpTo) throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
        using var buffer = new MemoryStream(request.ContentLength is { } length && length <= max ? (int)length : 16 * 1024);
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read <= max) buffer.Write(chunk, 0, read);
            else buffer.SetLength(max + 1); // over: the rest is only read (Kestrel cuts it at drainUpTo)
        }
        if (buffer.Length > max) throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
        return buffer.ToArray();
    }

    public sealed record Parsed(byte[] Body, string? Model, bool Streamed, bool UsageAdded = false);

    /// <summary>
    /// The body as it goes upstream, its model and whether it streams; or why it cannot go. An OpenAI chat stream that did
    /// not ask for its usage is made to (<c>stream_options.include_usage</c>): the meter needs the provider's own figures.
    /// A Gemini call names its model in the path and streams by its method: SSE with <c>alt=sse</c> (without, the stream
    /// is one JSON array, metered whole as a plain body is).
    /// </summary>
    public static (Parsed? Request, string? Problem) Parse(byte[] body, string protocol, string path, IQueryCollection query)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            return (null, $"the request body is not JSON: {e.Message}");
        }
        if (root is not JsonObject json) return (null, "the request body must be a JSON object");
        if (protocol == ProviderProtocols.Gemini && GeminiPath().Match(path) is { Success: true } call)
            return (new Parsed(body, call.Groups["model"].Value, call.Groups["method"].Value == "streamGenerateContent" && query["alt"] == "sse"), null);
        var model = json["model"] is JsonValue m && m.TryGetValue<string>(out var name) ? name : null;
        var streamed = json["stream"] is JsonValue s && s.TryGetValue<bool>(out var stream) && stream;
        var usageAdded = false;
        if (protocol == ProviderProtocols.OpenAi && path == "/v1/chat/completions" && streamed)
        {
            var streamOptions = json["stream_options"] as JsonObject;
            if (streamOptions?["include_usage"] is not JsonValue include || !include.TryGetValue<bool>(out var on) || !on)
            {
                if (streamOptions is null) json["stream_options"] = streamOptions = new JsonObject();
                streamOptions["include_usage"] = true;
                body = JsonSerializer.SerializeToUtf8Bytes(json);
                usageAdded = true;
            }
        }
        return (new Parsed(body, model, streamed, usageAdded), null);
    }

    /// <summary>The query as it goes upstream: a key in it (Gemini's <c>?key=</c>) was the placeholder, and stays here.</summary>
    public static QueryString WithoutKey(IQueryCollection query) =>
        QueryString.Create(query.Where(q => !q.Key.Equals("key", StringComparison.OrdinalIgnoreCase)));
}
