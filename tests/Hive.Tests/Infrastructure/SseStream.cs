using System.Text.Json;

namespace Hive.Tests.Infrastructure;

public sealed record SseEvent(long? Id, string Type, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement.Clone();
}

/// <summary>A real SSE client over HTTP: reads events (and comment lines) as the server flushes them.</summary>
public sealed class SseStream : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseStream(HttpClient http, HttpResponseMessage response, StreamReader reader)
    {
        _http = http;
        _response = response;
        _reader = reader;
    }

    public HttpResponseMessage Response => _response;
    public SseEvent Hello { get; private set; } = null!;
    public int CommentsSeen { get; private set; }

    /// <summary>Opens the stream and waits for the server's <c>hello</c>.</summary>
    /// <param name="token">The operator token, sent as Bearer (null when sign-in is off).</param>
    public static async Task<SseStream> OpenAsync(Uri baseAddress, string? token, long? lastEventId = null)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        if (token is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is { } id) request.Headers.Add("Last-Event-ID", id.ToString());
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        var stream = new SseStream(http, response, new StreamReader(await response.Content.ReadAsStreamAsync()));
        var hello = await stream.NextAsync(TimeSpan.FromSeconds(5)) ?? throw new IOException("no hello");
        Assert.Equal("hello", hello.Type);
        stream.Hello = hello;
        return stream;
    }

    /// <summary>The next event, or null when the server ended the stream. Throws on timeout.</summary>
    public async Task<SseEvent?> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        long? id = null;
        string? type = null;
        var data = new List<string>();
        while (true)
        {
            var line = await _reader.ReadLineAsync(cts.Token);
            if (line is null) return null;
            if (line.Length == 0)
            {
                if (type is null && data.Count == 0 && id is null) continue;
                return new SseEvent(id, type ?? "message", string.Join("\n", data));
            }
            if (line.StartsWith(':'))
            {
                CommentsSeen++;
                continue;
            }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = long.Parse(value); break;
                case "event": type = value; break;
                case "data": data.Add(value); break;
            }
        }
    }

    /// <summary>Reads until <paramref name="count"/> comment lines (heartbeats) have arrived.</summary>
    public async Task WaitForCommentsAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (CommentsSeen < count)
        {
            var line = await _reader.ReadLineAsync(cts.Token) ?? throw new IOException("the stream ended");
            if (line.StartsWith(':')) CommentsSeen++;
        }
    }

    /// <summary>Reads events until one of <paramref name="type"/> satisfying <paramref name="match"/> arrives.</summary>
    public async Task<SseEvent> WaitForAsync(string type, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no '{type}' event in time");
            var next = await NextAsync(left) ?? throw new IOException("the stream ended");
            if (next.Type == type && (match is null || match(next.Json))) return next;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        _http.Dispose();
        await Task.CompletedTask;
    }
}
