using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// A provider the test scripts request by request, over real HTTP: each request is handed to <see cref="Answer"/>, and the
/// upstream counts what it saw (requests, the most in flight at once, requests the caller abandoned).
/// </summary>
internal sealed class ScriptedUpstream : IAsyncDisposable
{
    private WebApplication _app = null!;
    private int _inFlight;
    private int _maxInFlight;
    private int _requests;
    private int _aborted;

    public string BaseUrl { get; private set; } = "";
    public int Requests => Volatile.Read(ref _requests);
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);
    public int Aborted => Volatile.Read(ref _aborted);

    /// <summary>What the upstream does with each request (the default: a small Messages answer).</summary>
    public Func<HttpContext, Task> Answer { get; set; } = context => WriteMessageAsync(context, 10, 5);

    public static async Task<ScriptedUpstream> StartAsync()
    {
        var upstream = new ScriptedUpstream();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(upstream.HandleAsync);
        await app.StartAsync();
        upstream._app = app;
        upstream.BaseUrl = app.Urls.Single().TrimEnd('/');
        return upstream;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen) { }
        try
        {
            await Answer(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref _aborted);
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref _aborted);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>A whole (not streamed) Messages answer with this usage.</summary>
    public static async Task WriteMessageAsync(HttpContext context, int input, int output)
    {
        await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        context.Response.ContentType = "application/json";
        var usage = $"\"usage\":{{\"input_tokens\":{input},\"output_tokens\":{output}}}";
        await context.Response.WriteAsync(
            "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test\"," +
            "\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],\"stop_reason\":\"end_turn\"," + usage + "}", context.RequestAborted);
    }

    /// <summary>The start of a Messages stream (message_start with its usage), flushed.</summary>
    public static async Task StartStreamAsync(HttpContext context, int input)
    {
        context.Response.ContentType = "text/event-stream";
        var data = "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\"," +
            $"\"model\":\"claude-test\",\"content\":[],\"usage\":{{\"input_tokens\":{input},\"output_tokens\":1}}}}}}";
        await context.Response.WriteAsync("event: message_start\ndata: " + data + "\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
