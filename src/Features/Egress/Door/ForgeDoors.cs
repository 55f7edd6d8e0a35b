using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hive.Features.Egress.Proxy;
using Hive.Features.Egress.Record;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Egress;
using Hive.Shared.Socket;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Egress.Door;

/// <summary>
/// Each agent's door to the hive's forge (<c>Hive:Forge:Url</c>): a Unix socket of its own at
/// <c>run/&lt;name&gt;.forge.sock</c>, open from the moment the agent joins the directory until it leaves, while the hive
/// has a forge. Every agent of such a hive has a forge identity: the forge sweep gives it a user and a token as it joins,
/// in the background, so the door does not wait for the token file (a sandbox gets its binds when it starts, and the
/// agent's first start races the sweep). Each connection is passed to the forge's host and port as bytes, both ways
/// (<see cref="Splice.TunnelAsync"/>), with no policy of the agent's own: the forge is the operator's, often on the host's
/// loopback, which the egress proxy would refuse. An https forge is passed on the same way, TLS and all, never looked
/// into; the agent then has to speak to the port under the forge's own name (its certificate names that, not
/// 127.0.0.1). Forgejo's absolute links (its ROOT_URL: clone URLs, redirects, pagination links) name the forge's own
/// address, which does not resolve inside a sealed sandbox: an agent uses <c>HIVE_FORGE_URL</c> as the base and paths
/// under it. Each connection is put on the agent's egress record (method <c>FORGE</c>) when it ends, as an egress
/// attempt is.
/// </summary>
internal sealed class ForgeDoors : IHostedService, IAsyncDisposable
{
    public const string Method = "FORGE";

    private readonly DoorConnections _connections;
    private readonly EgressRecorder _recorder;
    private readonly IOptions<EgressOptions> _options;
    private readonly TimeProvider _clock;
    private readonly AgentDoorSockets _sockets;
    private readonly Uri? _forge;
    private int _disposed;

    public ForgeDoors(IAgentDirectory agents, HivePaths paths, IConfiguration configuration, EgressRecorder recorder, IOptions<EgressOptions> options,
        TimeProvider clock, ILogger<ForgeDoors> logger)
    {
        (_recorder, _options, _clock) = (recorder, options, clock);
        // The Forge slice owns the key and refuses a start with a bad one; here it is only read.
        _forge = configuration["Hive:Forge:Url"] is { Length: > 0 } url && Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri)
                 && uri.Scheme is "http" or "https" ? uri : null;
        _connections = new DoorConnections("forge door", logger);
        _sockets = new AgentDoorSockets("forge", agents, paths,
            (connection, agent) => _connections.Run(agent, stopping => RunAsync(connection, agent, stopping)), logger);
    }

    public string SocketOf(string agent) => _sockets.SocketOf(agent);

    /// <summary>The agent's door to the forge (opened if it is not yet); null when the hive has no forge.</summary>
    public AgentForgeAccess? For(string agent)
    {
        if (_forge is null) return null;
        _sockets.Open(agent);
        return new AgentForgeAccess(SocketOf(agent), _forge.Scheme, _forge.AbsolutePath.TrimEnd('/'));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_forge is not null) _sockets.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    private async Task RunAsync(Socket client, string agent, CancellationToken stopping)
    {
        var forge = _forge!;
        var watch = Stopwatch.StartNew();
        var attempt = new EgressAttempt(agent, forge.DnsSafeHost, forge.Port, Method, null, EgressDecisions.Allowed, 200, null)
        {
            StartedAt = _clock.GetUtcNow(),
        };
        Socket? upstream = null;
        try
        {
            var (connected, address, failure, status) = await ConnectAsync(forge, stopping);
            if (connected is null)
            {
                // Bytes, not HTTP, pass here (an https forge's TLS among them): a refusal is the connection closed.
                attempt = attempt with { Address = address?.ToString(), Decision = EgressDecisions.Failed, Status = status, Reason = $"could not connect to the forge ({failure})" };
                return;
            }
            upstream = connected;
            attempt = attempt with { Address = address!.ToString() };
            var (bytesOut, bytesIn) = await Splice.TunnelAsync(client, upstream, stopping);
            attempt = attempt with { BytesOut = bytesOut, BytesIn = bytesIn };
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The agent or the forge went away mid-way: what was counted stands.
        }
        finally
        {
            client.Dispose();
            upstream?.Dispose();
            await _recorder.RecordAsync(attempt with { DurationMs = watch.Elapsed.TotalMilliseconds });
        }
    }

    /// <summary>The forge's addresses (its host resolved now, as the host's own clients do), each given <see cref="EgressOptions.ConnectTimeoutSeconds"/>.</summary>
    private async Task<(Socket? Socket, IPAddress? Address, string Failure, int Status)> ConnectAsync(Uri forge, CancellationToken stopping)
    {
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(forge.DnsSafeHost, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(forge.DnsSafeHost, stopping);
        }
        catch (SocketException e)
        {
            return (null, null, $"{forge.DnsSafeHost} does not resolve: {e.SocketErrorCode}", 502);
        }
        return await Upstream.ConnectAsync(addresses, forge.Port, _options.Value.ConnectTimeoutSeconds, stopping);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _sockets.DisposeAsync();
        await _connections.StopAsync();
    }
}
