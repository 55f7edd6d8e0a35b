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
internal sealed class EgressDoors(IAgentDirectory agents, HivePaths paths, ProxyConnection proxy, ILogger<EgressDoors> logger)
    : IAgentEgress, IHostedService, IAsyncDisposable
{
    private readonly Dictionary<string, Door> _doors = new(StringComparer.Ordinal); // also the lock for _stopped
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private AgentSubscription? _subscription;
    private bool _stopped;

    public string SocketOf(string agent) => Path.Combine(paths.RunDir, agent + ".egress.sock");

    public AgentEgressAccess? For(string agent)
    {
        Open(agent); // normally open already (the agent joined the directory); a no-op then
        return new AgentEgressAccess(SocketOf(agent));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_doors)
        {
            _subscription = agents.Subscribe(change =>
            {
                if (change.Kind == AgentChangeKind.Added) TryOpen(change.Agent.Name);
                else Close(change.Agent.Name);
            });
            foreach (var agent in _subscription.Agents) TryOpen(agent.Name);
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    private void TryOpen(string agent)
    {
        try
        {
            Open(agent);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            logger.LogError(e, "egress: could not open the egress socket of {Agent}", agent);
        }
    }

    private void Open(string agent)
    {
        lock (_doors)
        {
            if (_stopped || _doors.ContainsKey(agent)) return;
            var path = SocketOf(agent);
            var (socket, created) = SocketFiles.Listen(path, Path.Combine(paths.RunDir, "." + agent + ".egress.new"),
                UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var door = new Door(agent, path, socket, created);
            _doors[agent] = door;
            door.Loop = AcceptAsync(door);
        }
    }

    private void Close(string agent)
    {
        Door? door;
        lock (_doors)
        {
            if (!_doors.Remove(agent, out door)) return;
        }
        door.Close();
    }

    private async Task AcceptAsync(Door door)
    {
        var backoff = TimeSpan.Zero;
        while (!door.Closing.IsCancellationRequested)
        {
            try
            {
                var connection = await door.Socket.AcceptAsync(door.Closing);
                backoff = TimeSpan.Zero;
                Serve(connection, door.Agent);
            }
            catch (Exception) when (door.Closing.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                if (backoff == TimeSpan.Zero) logger.LogWarning("egress: accept failed on {Agent}'s egress socket: {Error}; backing off", door.Agent, e.SocketErrorCode);
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.TicksPerSecond));
                try { await Task.Delay(backoff, door.Closing); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private void Serve(Socket connection, string agent)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await proxy.RunAsync(connection, agent, _stopping.Token);
            }
            catch (Exception e)
            {
                logger.LogError(e, "egress: a connection of {Agent} failed", agent);
            }
        });
        _connections[task] = true;
        task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        List<Door> doors;
        lock (_doors)
        {
            if (_stopped) return;
            _stopped = true;
            _subscription?.Dispose();
            doors = [.. _doors.Values];
            _doors.Clear();
        }
        foreach (var door in doors) door.Close();
        await Task.WhenAll(doors.Select(d => d.Loop ?? Task.CompletedTask));
        await _stopping.CancelAsync();
        await Task.WhenAll(_connections.Keys);
    }

    private sealed class Door(string agent, string path, Socket socket, SocketFiles.Identity? created)
    {
        private readonly CancellationTokenSource _closing = new();
        public string Agent => agent;
        public Socket Socket => socket;
        public CancellationToken Closing => _closing.Token;
        public Task? Loop { get; set; }

        public void Close()
        {
            _closing.Cancel();
            socket.Dispose();
            SocketFiles.DeleteIfSame(path, created);
        }
    }
}
