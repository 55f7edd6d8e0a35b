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
    private readonly DoorConnections _connections;
    private readonly AgentDoorSockets _sockets;
    private readonly ForgeDoors _forge;
    private int _disposed;

    public EgressDoors(IAgentDirectory agents, HivePaths paths, ProxyConnection proxy, ForgeDoors forge, ILogger<EgressDoors> logger)
    {
        _forge = forge;
        _connections = new DoorConnections("egress", logger);
        _sockets = new AgentDoorSockets("egress", agents, paths,
            (connection, agent) => _connections.Run(agent, stopping => proxy.RunAsync(connection, agent, stopping)), logger);
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

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _sockets.DisposeAsync();
        await _connections.StopAsync();
    }
}
