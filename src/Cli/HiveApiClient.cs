using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hive.Cli;

/// <summary>One server-sent event of <c>/api/events</c>: its id (absent on <c>hello</c>), type and JSON data text.</summary>
public sealed record HiveEvent(long? Id, string Type, string Data);

/// <summary>
/// The operator's client of the hive's HTTP API, signed in with the Bearer token. A problem+json answer becomes a
/// <see cref="CliError"/> with its <c>code</c> and sentence; a host that cannot be reached is <c>unavailable</c>.
/// </summary>
public sealed class HiveApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _tokenSource;

    /// <param name="tokenSource">Where the token came from, said when the hive refuses it (or that there was none).</param>
    public HiveApiClient(Uri baseAddress, string? token, HttpMessageHandler? handler = null, string? tokenSource = null)
    {
        _tokenSource = tokenSource ?? (token is null ? "no token was given" : "the token given");
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = baseAddress;
        _http.Timeout = Timeout.InfiniteTimeSpan; // long calls (a stop's grace, the event stream) end by cancellation
        if (token is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Uri BaseAddress => _http.BaseAddress!;

    public Task<JsonNode?> GetAsync(string path, CancellationToken ct = default) => SendAsync(HttpMethod.Get, path, null, ct);

    public Task<JsonNode?> PostAsync(string path, JsonNode? body = null, CancellationToken ct = default) => SendAsync(HttpMethod.Post, path, body, ct);

    public Task<JsonNode?> DeleteAsync(string path, CancellationToken ct = default) => SendAsync(HttpMethod.Delete, path, null, ct);

    /// <summary>A text/plain route (an agent's logs).</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken ct = default)
    {
        using var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseContentRead, ct);
        await ThrowUnlessSuccessAsync(response, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    /// <summary>Sends a request; the JSON the host answered, or null for an empty answer (204).</summary>
    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken ct = default)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        await ThrowUnlessSuccessAsync(response, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (text.Length == 0) return null;
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            throw new CliError("bad_reply", $"{method} {path} answered something that is not JSON");
        }
    }

    /// <summary>
    /// The event stream from <paramref name="lastEventId"/> on (the <c>Last-Event-ID</c> header), until the host ends it
    /// or <paramref name="ct"/> is cancelled. Heartbeat comments are skipped; <c>hello</c> is yielded (its id is null).
    /// </summary>
    public async IAsyncEnumerable<HiveEvent> EventsAsync(long? lastEventId, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is { } last) request.Headers.Add("Last-Event-ID", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        await ThrowUnlessSuccessAsync(response, ct);
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        // The BCL's parser: comments (the heartbeat) skipped, data lines joined with \n, the type "message" when none;
        // each event's own id (null on hello), numeric as the host writes them.
        var parser = SseParser.Create(stream, static (_, data) => Encoding.UTF8.GetString(data));
        await using var events = parser.EnumerateAsync(ct).GetAsyncEnumerator(ct);
        while (true)
        {
            try
            {
                if (!await events.MoveNextAsync()) yield break;
            }
            catch (IOException)
            {
                yield break; // the host went away mid-stream: the caller reconnects
            }
            catch (HttpRequestException)
            {
                yield break;
            }
            var item = events.Current;
            yield return new HiveEvent(long.TryParse(item.EventId, out var id) ? id : null, item.EventType, item.Data);
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException e)
        {
            throw new CliError("unavailable", $"cannot reach the hive at {_http.BaseAddress}: {e.Message}");
        }
    }

    private async Task ThrowUnlessSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        string? code = null, sentence = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (text.Length > 0 && JsonNode.Parse(text) is JsonObject problem)
            {
                code = problem["code"]?.GetValue<string>();
                sentence = problem["detail"]?.GetValue<string>() ?? problem["title"]?.GetValue<string>();
                if (problem["errors"] is JsonObject errors && errors.Count > 0)
                    sentence = string.Join("; ", errors.Select(e => e.Value is JsonArray a ? string.Join(", ", a.Select(m => m?.ToString())) : e.Value?.ToString()));
            }
        }
        catch (JsonException)
        {
            // not problem+json: the status says enough
        }
        catch (IOException)
        {
        }
        code ??= response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => "unauthorized",
            HttpStatusCode.Forbidden => "forbidden",
            HttpStatusCode.NotFound => "not_found",
            HttpStatusCode.Conflict => "conflict",
            _ => "failed",
        };
        if (response.StatusCode == HttpStatusCode.Unauthorized)
            sentence = $"{sentence ?? "the hive refused the operator token"} ({_tokenSource}; point hivectl at the right one with --token, $HIVE_TOKEN, or --data-dir DIR where the hive's operator-token is)";
        throw new CliError(code, sentence ?? $"the hive answered {(int)response.StatusCode} {response.ReasonPhrase}");
    }

    public void Dispose() => _http.Dispose();
}
