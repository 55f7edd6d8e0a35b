using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hive.Testing;

/// <summary>
/// A stand-in for an ntfy server and for a webhook receiver (neither can run here): a real HTTP server on loopback that
/// keeps every request it got (path, headers, body) and answers 200, or 500 to the first <see cref="FailFirst"/> requests.
/// It checks nothing itself: the tests check what it kept (an HMAC, a delivery id, ntfy's JSON publish fields).
/// </summary>
public sealed class PushReceiver : IAsyncDisposable
{
    public sealed record Request(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, bool Accepted)
    {
        public string Text => System.Text.Encoding.UTF8.GetString(Body);

        public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

        public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

        /// <summary>When the handler got the request (before its body was read), on the wall clock.</summary>
        public DateTimeOffset At { get; init; }

        /// <summary>The same moment as a <see cref="System.Diagnostics.Stopwatch"/> timestamp (monotonic, for latencies within this process).</summary>
        public long Timestamp { get; init; }
    }

    private readonly object _lock = new();
    private readonly List<Request> _requests = [];
    private readonly Channel<Request> _arrivals = Channel.CreateUnbounded<Request>();
    private WebApplication? _app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Answer 500 to this many requests before answering 200.</summary>
    public int FailFirst { get; set; }

    public IReadOnlyList<Request> Requests { get { lock (_lock) return [.. _requests]; } }

    public IReadOnlyList<Request> Accepted => [.. Requests.Where(r => r.Accepted)];

    /// <summary>Listens on <paramref name="port"/> (a free one when null).</summary>
    public static async Task<PushReceiver> StartAsync(int? port = null)
    {
        var receiver = new PushReceiver();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port ?? 0}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        receiver._app = app;
        receiver.Url = new Uri(app.Urls.Single());
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var (at, timestamp) = (DateTimeOffset.UtcNow, System.Diagnostics.Stopwatch.GetTimestamp());
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        bool accepted;
        lock (_lock) accepted = _requests.Count(r => !r.Accepted) >= FailFirst;
        var request = new Request(context.Request.Method, context.Request.Path.Value ?? "",
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body.ToArray(), accepted)
        { At = at, Timestamp = timestamp };
        lock (_lock) _requests.Add(request);
        context.Response.StatusCode = accepted ? 200 : 500;
        await _arrivals.Writer.WriteAsync(request);
    }

    /// <summary>The next request accepted (answered 200) that matches, within <paramref name="timeout"/>.</summary>
    public async Task<Request> NextAcceptedAsync(Func<Request, bool>? match = null, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            while (true)
            {
                var request = await _arrivals.Reader.ReadAsync(cts.Token);
                if (request.Accepted && (match?.Invoke(request) ?? true)) return request;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no matching push arrived; got {Requests.Count} request(s)");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
