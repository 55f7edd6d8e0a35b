using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hive.Features.Egress.Record;
using Hive.Shared.Errors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Egress.Proxy;

/// <summary>
/// One connection an agent opened on its egress socket: its head is read (within <see cref="EgressOptions.MaxHeadBytes"/>
/// and <see cref="EgressOptions.HeadTimeoutSeconds"/>), its target checked (<see cref="EgressPolicy"/>), the checked
/// address connected to, and then either a tunnel (CONNECT: <c>200 Connection established</c>, and the bytes the client
/// sent after its head go first) or one plain-http request in origin form (<see cref="ProxyHead.ToOrigin"/>) and its
/// answer, after which the connection ends. A refusal is an HTTP answer with a one-line sentence and
/// <c>Connection: close</c>. Every attempt that got as far as a head is recorded (<see cref="EgressRecorder"/>) when it ends.
/// Hand-written over the sockets, with no HTTP server in between: the bytes of a tunnel pass through one copy.
/// </summary>
internal sealed class ProxyConnection(EgressPolicy policy, EgressRecorder recorder, IOptions<EgressOptions> options, TimeProvider clock,
    ILogger<ProxyConnection> logger)
{
    public async Task RunAsync(Socket client, string agent, CancellationToken stopping)
    {
        var watch = Stopwatch.StartNew();
        var startedAt = clock.GetUtcNow();
        var limits = options.Value;
        var buffer = new byte[Math.Max(256, limits.MaxHeadBytes)];
        var filled = 0;
        var headEnd = -1;
        Socket? upstream = null;
        EgressAttempt? attempt = null;
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                timeout.CancelAfter(TimeSpan.FromSeconds(limits.HeadTimeoutSeconds));
                try
                {
                    while (headEnd < 0)
                    {
                        if (filled == buffer.Length)
                        {
                            attempt = new EgressAttempt(agent, "-", 0, "-", null, EgressDecisions.Refused, 400, $"the request head is over {buffer.Length} bytes");
                            await RefuseAsync(client, attempt);
                            return;
                        }
                        var read = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, timeout.Token);
                        if (read == 0) return; // gone before asking anything: not an attempt
                        var searchFrom = Math.Max(0, filled - 3);
                        filled += read;
                        if (ProxyHead.EndOf(buffer.AsSpan(searchFrom, filled - searchFrom)) is var end and >= 0) headEnd = searchFrom + end;
                    }
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    logger.LogDebug("egress: {Agent} sent no whole request head in {Seconds} s; closed", agent, limits.HeadTimeoutSeconds);
                    return;
                }
            }

            if (ProxyHead.TryParse(buffer.AsSpan(0, headEnd), out var status, out var problem) is not { } head)
            {
                attempt = new EgressAttempt(agent, "-", 0, "-", null, EgressDecisions.Refused, status, problem);
                await RefuseAsync(client, attempt);
                return;
            }

            Verdict verdict;
            try
            {
                verdict = await policy.CheckAsync(agent, head.Target, stopping);
            }
            catch (NotFoundException)
            {
                verdict = Verdict.Refused(403, null, $"{agent} is not an agent of this hive");
            }
            if (!verdict.IsAllowed)
            {
                attempt = new EgressAttempt(agent, head.Target.Host, head.Target.Port, head.Method, verdict.RefusedAddress?.ToString(),
                    EgressDecisions.Refused, verdict.Status, verdict.Reason);
                await RefuseAsync(client, attempt);
                return;
            }

            var (connected, address, failure, failStatus) = await Upstream.ConnectAsync(verdict.Addresses, head.Target.Port, options.Value.ConnectTimeoutSeconds, stopping);
            if (connected is null)
            {
                attempt = new EgressAttempt(agent, head.Target.Host, head.Target.Port, head.Method, address?.ToString(), EgressDecisions.Failed,
                    failStatus, $"could not connect to {head.Target} ({failure})");
                await RefuseAsync(client, attempt);
                return;
            }
            upstream = connected;
            attempt = new EgressAttempt(agent, head.Target.Host, head.Target.Port, head.Method, address!.ToString(), EgressDecisions.Allowed, 200, null);

            var rest = buffer.AsMemory(headEnd, filled - headEnd);
            if (head.IsConnect)
            {
                await Splice.SendAllAsync(client, "HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray());
                await Splice.SendAllAsync(upstream, rest);
                attempt = attempt with { BytesOut = rest.Length };
                var (bytesOut, bytesIn) = await Splice.TunnelAsync(client, upstream, stopping);
                attempt = attempt with { BytesOut = rest.Length + bytesOut, BytesIn = bytesIn };
            }
            else
            {
                var origin = head.ToOrigin();
                var body = rest[..(int)Math.Min(rest.Length, head.BodyLength)];
                await Splice.SendAllAsync(upstream, origin);
                await Splice.SendAllAsync(upstream, body);
                attempt = attempt with { BytesOut = origin.Length + body.Length };
                var (bytesOut, bytesIn) = await Splice.OneRequestAsync(client, upstream, head.BodyLength - body.Length, stopping);
                attempt = attempt with { BytesOut = origin.Length + body.Length + bytesOut, BytesIn = bytesIn };
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client or the upstream went away mid-way: what was counted stands.
        }
        finally
        {
            client.Dispose();
            upstream?.Dispose();
            if (attempt is not null) await recorder.RecordAsync(attempt with { StartedAt = startedAt, DurationMs = watch.Elapsed.TotalMilliseconds });
        }
    }

    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);

    private static async Task RefuseAsync(Socket client, EgressAttempt attempt)
    {
        var body = Encoding.UTF8.GetBytes($"hive: {attempt.Reason}\n");
        var head = $"HTTP/1.1 {attempt.Status} {Phrase(attempt.Status)}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        try
        {
            await Splice.SendAllAsync(client, (byte[])[.. Encoding.ASCII.GetBytes(head), .. body]);
            client.Shutdown(SocketShutdown.Send);
            // A lingering close: what the client is still sending is read and dropped for a moment, since a socket closed
            // with bytes unread resets the connection, and the client may then lose the answer it has not read yet.
            using var linger = new CancellationTokenSource(LingerTime);
            var drop = new byte[4096];
            while (await client.ReceiveAsync(drop, SocketFlags.None, linger.Token) > 0) { }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private static string Phrase(int status) => status switch
    {
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        411 => "Length Required",
        502 => "Bad Gateway",
        504 => "Gateway Timeout",
        _ => "Error",
    };
}
