using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// A fake Anthropic Messages provider that streams as a real one does (Kestrel on loopback in the bench's process): every
/// <c>POST /v1/messages</c> gets its first byte after a random 200–800 ms, then 20–60 <c>content_block_delta</c> events
/// 5–25 ms apart, with the usage in <c>message_start</c> and <c>message_delta</c>. Each call is numbered (its serial) and the
/// serial is in its answer three times: the <c>x-fake-call</c> header, the message id (<c>msg_swarm_&lt;serial&gt;</c>) and
/// the input tokens of its usage, so the client's log and the host's <c>model_calls</c> row each name the call they saw.
/// Per call it keeps the time from the request's arrival (its handler's start) to its first byte written and flushed, and
/// whether the stream was served whole (every event written and the response completed) or cut (the peer went away).
/// </summary>
public sealed class StreamingProvider : IAsyncDisposable
{
    /// <summary>One call as the provider saw it; <see cref="Served"/> only once its whole stream was written and completed.</summary>
    public sealed record Call(long Serial, string Label, bool Direct, DateTimeOffset ReceivedAt, double FirstByteMs, DateTimeOffset EndedAt, bool Served, string? Error);

    private readonly WebApplication _app;
    private readonly string _key;
    private readonly ConcurrentQueue<Call> _calls = new();
    private long _serial;
    private int _inFlight;
    private int _peakInFlight;

    private StreamingProvider(WebApplication app, string key)
    {
        _app = app;
        _key = key;
    }

    public string Url { get; private set; } = "";

    /// <summary>The key a client that calls the provider directly (no gateway) presents: its calls are marked <see cref="Call.Direct"/>.</summary>
    public string DirectKey { get; } = "direct-" + Guid.NewGuid().ToString("N");

    /// <summary>The most calls through the gateway (not direct ones) the provider was answering at once, from request to the stream's end.</summary>
    public int PeakInFlight => Volatile.Read(ref _peakInFlight);

    public IReadOnlyList<Call> Calls => [.. _calls];

    /// <summary>Starts the provider on a free loopback port; <paramref name="key"/> is the key the gateway must present (others get 401).</summary>
    public static async Task<StreamingProvider> StartAsync(string key)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var provider = new StreamingProvider(builder.Build(), key);
        provider._app.MapPost("/v1/messages", provider.AnswerAsync);
        await provider._app.StartAsync();
        provider.Url = provider._app.Urls.Single().TrimEnd('/');
        return provider;
    }

    private async Task AnswerAsync(HttpContext context)
    {
        var received = Stopwatch.GetTimestamp();
        var receivedAt = DateTimeOffset.UtcNow;
        var serial = Interlocked.Increment(ref _serial);
        var label = "";
        var presented = context.Request.Headers["x-api-key"].ToString();
        var direct = presented == DirectKey;
        if (!direct) EnterFlight();
        var firstByteMs = double.NaN;
        try
        {
            if (!direct && presented != _key)
            {
                context.Response.StatusCode = 401;
                await context.Response.WriteAsync("""{"type":"error","error":{"type":"authentication_error","message":"bad key"}}""");
                Record(false, "bad key");
                return;
            }
            using (var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))
                label = Label(body.RootElement);
            var random = new Random(HashCode.Combine(serial, label));
            await WriteFirstByteAsync(context, serial, random);
            firstByteMs = Stats.Ms(Stopwatch.GetTimestamp() - received);
            await WriteRestAsync(context.Response.Body, random, context.RequestAborted);
            await context.Response.CompleteAsync();
            Record(true, null);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or JsonException or InvalidOperationException)
        {
            Record(false, e.GetType().Name + ": " + e.Message);
        }
        finally
        {
            if (!direct) Interlocked.Decrement(ref _inFlight);
        }

        void Record(bool served, string? error) =>
            _calls.Enqueue(new Call(serial, label, direct, receivedAt, firstByteMs, DateTimeOffset.UtcNow, served, error));
    }

    /// <summary>One more call through the gateway in flight, and the peak raised to it if it is above.</summary>
    private void EnterFlight()
    {
        var now = Interlocked.Increment(ref _inFlight);
        for (var peak = Volatile.Read(ref _peakInFlight); now > peak; peak = Volatile.Read(ref _peakInFlight))
            if (Interlocked.CompareExchange(ref _peakInFlight, now, peak) == peak) break;
    }

    /// <summary>After 200–800 ms, the head and <c>message_start</c> (the serial as its id and input tokens), flushed: the call's first byte.</summary>
    private static async Task WriteFirstByteAsync(HttpContext context, long serial, Random random)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(200 + random.Next(601)), context.RequestAborted);
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers["x-fake-call"] = serial.ToString(CultureInfo.InvariantCulture);
        await context.Response.Body.WriteAsync(Event("message_start",
            $$$$"""{"type":"message_start","message":{"id":"msg_swarm_{{{{serial}}}}","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"usage":{"input_tokens":{{{{serial}}}},"output_tokens":1}}}"""), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    /// <summary>The rest of the stream: 20–60 text deltas 5–25 ms apart, each flushed, then the block's and the message's ends with the output tokens.</summary>
    private static async Task WriteRestAsync(Stream output, Random random, CancellationToken ct)
    {
        await output.WriteAsync(Event("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""), ct);
        var chunks = 20 + random.Next(41);
        for (var i = 0; i < chunks; i++)
        {
            await Task.Delay(5 + random.Next(21), ct);
            await output.WriteAsync(Event("content_block_delta", $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word{{{i}}} "}}"""), ct);
            await output.FlushAsync(ct);
        }
        await output.WriteAsync(Event("content_block_stop", """{"type":"content_block_stop","index":0}"""), ct);
        await output.WriteAsync(Event("message_delta", $$$"""{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":{{{chunks * 2}}}}}"""), ct);
        await output.WriteAsync(Event("message_stop", """{"type":"message_stop"}"""), ct);
    }

    /// <summary>The client's label for the call: the text of its last user message.</summary>
    private static string Label(JsonElement body)
    {
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0) return "";
        var content = messages[messages.GetArrayLength() - 1].GetProperty("content");
        return content.ValueKind == JsonValueKind.String ? content.GetString() ?? "" : "";
    }

    private static byte[] Event(string name, string data) => Encoding.UTF8.GetBytes($"event: {name}\ndata: {data}\n\n");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
