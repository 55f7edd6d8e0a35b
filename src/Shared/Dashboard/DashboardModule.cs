using System.Buffers;
using System.Text;
using Carter;
using Hive.Shared.Errors;
using Hive.Shared.Http;
using Hive.Shared.Json;
using Hive.Shared.Limits;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Shared.Dashboard;

/// <summary>The dashboard's two feeds: the cold-load snapshot and the live event stream.</summary>
public sealed class DashboardModule : CarterModule
{
    public DashboardModule()
    {
        Get("/api/state", async (req, res) =>
        {
            var snapshot = await req.HttpContext.RequestServices.GetRequiredService<ColdLoads>().GetAsync(req.HttpContext.RequestAborted);
            res.StatusCode = 200;
            res.ContentType = "application/json; charset=utf-8";
            res.ContentLength = snapshot.Length;
            await res.Body.WriteAsync(snapshot, req.HttpContext.RequestAborted);
        });

        Get("/api/events", (req, res) => StreamEventsAsync(req.HttpContext));
    }

    internal static async Task<IReadOnlyDictionary<string, object?>> BuildSnapshotAsync(IServiceProvider services, CancellationToken ct)
    {
        var gate = services.GetRequiredService<IStateChangeGate>();
        var hub = services.GetRequiredService<DashboardHub>();
        var db = services.GetRequiredService<Hive.Shared.Data.IDb>();
        var contributors = services.GetServices<IDashboardStateContributor>().ToList();
        var state = new DashboardState();
        // Under the gate only what must be: seq, in-memory captures, and the start of one database read transaction.
        // The reads themselves run after it (a send once waited behind five cold loads' reads; ADR 0005), in that transaction,
        // so they see exactly the changes whose events are <= seq.
        IDisposable reads;
        using (await gate.EnterSnapshotAsync(ct))
        {
            state.Set("seq", hub.LastId);
            foreach (var contributor in contributors) contributor.Capture();
            reads = db.BeginReadSnapshot();
        }
        using (reads)
        {
            foreach (var contributor in contributors)
                await contributor.ContributeAsync(state, ct);
        }
        return state.Sections;
    }

    private static async Task StreamEventsAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var hub = services.GetRequiredService<DashboardHub>();
        var heartbeat = TimeSpan.FromSeconds(services.GetRequiredService<IOptions<HiveOptions>>().Value.Dashboard.HeartbeatSeconds);
        var ct = context.RequestAborted;

        // The browser's EventSource cannot set headers on its first connect, so the page passes the snapshot's seq as
        // ?last_event_id=; on its own reconnects it sends the Last-Event-ID header, which then wins.
        long? lastEventId = null;
        var header = context.Request.Headers["Last-Event-ID"].ToString();
        if (header.Length == 0) header = context.Request.Query["last_event_id"].ToString();
        if (header.Length > 0)
        {
            // A garbled id cannot be resumed from; treating it like a stale one (resync) is what the client needs.
            lastEventId = long.TryParse(header, out var parsed) ? parsed : -1;
        }

        if (HttpMethods.IsHead(context.Request.Method))
        {
            // The headers a GET would get, and no stream: a HEAD must not hold a subscription and a loop open.
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            return;
        }

        var limits = services.GetRequiredService<ConnectionLimits>();
        // The host's cap first (503: everyone waits), then the client's (429: its own excess; the other clients are served).
        // ?agent=NAME: an agent's page, which also gets the events scoped to that agent (its live transcript).
        var agent = context.Request.Query["agent"].ToString() is { Length: > 0 } name ? name : null;
        using var subscription = hub.TrySubscribe(lastEventId, limits.EventStreams, agent);
        if (subscription is null)
        {
            await RefuseAsync(context, limits, StatusCodes.Status503ServiceUnavailable, "Too many event streams", ErrorCodes.Busy,
                $"the host serves at most {limits.EventStreams} event streams at once; retry later");
            return;
        }
        using var clientLease = context.Features.Get<OperatorClient>() is { } client
            ? services.GetRequiredService<EventStreamClients>().TryOpen(client.Name, limits.EventStreamsPerClient)
            : NoLease;
        if (clientLease is null)
        {
            await RefuseAsync(context, limits, StatusCodes.Status429TooManyRequests, "Too many event streams for this client", ErrorCodes.TooMany,
                $"one client (a sign-in session, or all Bearer callers together) holds at most {limits.EventStreamsPerClient} event streams at once; close one or retry later");
            return;
        }

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers.ContentEncoding = "identity";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var output = new ArrayBufferWriter<byte>(FlushBytes + 4096);
        var live = subscription.Live;
        using var timer = new PeriodicTimer(heartbeat);
        Task<bool>? tick = null;
        Task<bool>? ready = null;
        try
        {
            // retry: how soon a browser reconnects after the stream ends (default ~3 s).
            Append(output, $"retry: 1000\nevent: hello\ndata: {{\"seq\":{subscription.LastIdAtSubscribe}}}\n\n");
            if (subscription.NeedsResync)
                // With an id, so the browser's Last-Event-ID moves past the unusable one it sent.
                Append(output, $"id: {subscription.LastIdAtSubscribe}\nevent: resync\ndata: {{\"seq\":{subscription.LastIdAtSubscribe}}}\n\n");
            await FlushAsync(response, output, ct); // the hello goes out at once, whatever the replay's length

            // The replay is read from the ring a chunk at a time and written in bounded pieces, each flush waiting for the
            // client to take the last (Kestrel's response buffer applies back-pressure): a herd of resuming clients costs
            // a chunk each, not a copy of the ring each.
            var chunk = new DashboardEventRecord[ReplayChunk];
            int taken;
            while ((taken = subscription.ReadReplay(chunk)) > 0)
            {
                for (var i = 0; i < taken; i++) await WriteAsync(response, output, chunk[i], ct);
                Array.Clear(chunk, 0, taken);
            }
            await FlushAsync(response, output, ct);

            tick = timer.WaitForNextTickAsync(ct).AsTask();
            while (true)
            {
                ready ??= live.WaitToReadAsync(ct).AsTask();
                if (await Task.WhenAny(ready, tick) == tick)
                {
                    if (!await tick) break;
                    Append(output, ": heartbeat\n\n");
                    await FlushAsync(response, output, ct);
                    tick = timer.WaitForNextTickAsync(ct).AsTask();
                    continue;
                }
                var more = await ready;
                ready = null;
                if (!more) break; // the hub ended the queue: the client reconnects with Last-Event-ID
                while (live.TryRead(out var record)) await WriteAsync(response, output, record, ct);
                await FlushAsync(response, output, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (SubscriberOverflowException)
        {
            // Cut off for falling behind; ending the response makes the client reconnect and replay.
        }
    }

    private static readonly IDisposable NoLease = new NoCap();

    private sealed class NoCap : IDisposable
    {
        public void Dispose() { }
    }

    /// <summary>
    /// A clear answer the client can wait on, and the connection is closed: a refused client that keeps it open (an
    /// EventSource retrying, a script in a loop) would otherwise hold a connection per refusal.
    /// </summary>
    private static Task RefuseAsync(HttpContext context, ConnectionLimits limits, int status, string title, string code, string detail)
    {
        context.Response.Headers.RetryAfter = limits.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers.Connection = "close";
        return TypedResults.Problem(detail: detail, statusCode: status, title: title,
            extensions: new Dictionary<string, object?> { ["code"] = code }).ExecuteAsync(context);
    }

    /// <summary>Events read from the ring at a time during a replay.</summary>
    private const int ReplayChunk = 64;

    /// <summary>Bytes gathered before they are written and flushed: the most one stream buffers of its own.</summary>
    private const int FlushBytes = 32 * 1024;

    private static async ValueTask WriteAsync(HttpResponse response, ArrayBufferWriter<byte> output, DashboardEventRecord record, CancellationToken ct)
    {
        output.Write(record.Wire);
        if (output.WrittenCount >= FlushBytes) await FlushAsync(response, output, ct);
    }

    private static void Append(ArrayBufferWriter<byte> output, string text) => output.Write(Encoding.UTF8.GetBytes(text));

    private static async Task FlushAsync(HttpResponse response, ArrayBufferWriter<byte> output, CancellationToken ct)
    {
        if (output.WrittenCount == 0) return;
        await response.Body.WriteAsync(output.WrittenMemory, ct);
        output.ResetWrittenCount();
        await response.Body.FlushAsync(ct);
    }
}
