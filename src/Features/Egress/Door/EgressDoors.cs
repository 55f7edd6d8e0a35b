using System.Collections.Concurrent;
using System.Net.Sockets;
using Hive.Features.Egress.Proxy;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Egress;
using Hive.Shared.Socket;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Egress.Door;

/// <summary>
/// Each agent's door to the network: a Unix socket of its own at <c>run/&lt;name&gt;.egress.sock</c>, opened when the agent
/// joins the directory (before it can start) and closed when it leaves, as its model door is. The socket is the identity:
/// every connection accepted on it is the agent's, and goes to a <see cref="ProxyConnection"/> under that name. The
/// host's stop closes the doors and cuts the connections still open.
/// </summary>
internal sealed class EgressDoors : IAgentEgress, IHostedService, IAsyncDisposable
{
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ProxyConnection _proxy;
    private readonly ILogger<EgressDoors> _logger;
    private readonly AgentDoorSockets _sockets;
    private readonly ForgeDoors _forge;
    private int _disposed;

    public EgressDoors(IAgentDirectory agents, HivePaths paths, ProxyConnection proxy, ForgeDoors forge, ILogger<EgressDoors> logger)
    {
        (_proxy, _forge, _logger) = (proxy, forge, logger);
        _sockets = new AgentDoorSockets("egress", agents, paths, Serve, logger);
    }

    public string SocketOf(string agent) => _sockets.SocketOf(agent);

    public AgentEgressAccess? For(string agent)
    {
        _sockets.Open(agent); // normally open already (the agent joined the directory); a no-op then
        return new AgentEgressAccess(SocketOf(agent), _forge.For(agent));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _sockets.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    private void Serve(Socket connection, string agent)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await _proxy.RunAsync(connection, agent, _stopping.Token);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "egress: a connection of {Agent} failed", agent);
            }
        });
        _connections[task] = true;
        task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _sockets.DisposeAsync();
        await _stopping.CancelAsync();
        await Task.WhenAll(_connections.Keys);
    }
}
