using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// An agent's model call as it comes to its door: the paths a protocol serves, the key presented, the body (bounded) and
/// what it asks (its model, whether it streams).
/// </summary>
internal static class ModelCallRequest
{
    public static string[] PathsOf(string protocol) =>
        protocol == ProviderProtocols.OpenAi ? ["/v1/chat/completions", "/v1/responses"] : ["/v1/messages", "/v1/messages/count_tokens"];

    public static bool Serves(string protocol, string path) => PathsOf(protocol).Contains(path, StringComparer.Ordinal);

    public static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers["x-api-key"] is { Count: 1 } apiKey) return apiKey[0];
        if (request.Headers["api-key"] is { Count: 1 } azureKey) return azureKey[0];
        if (AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var auth) && auth.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            return auth.Parameter;
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
    /// </summary>
    public static (Parsed? Request, string? Problem) Parse(byte[] body, string protocol, string path)
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
}
