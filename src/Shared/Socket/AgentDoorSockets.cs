using System.Net.Sockets;
using Hive.Shared.Agents;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Socket;

/// <summary>
/// Each agent's own Unix socket of one kind, at <c>run/&lt;name&gt;.&lt;kind&gt;.sock</c> (mode 0600): opened when the agent
/// joins the directory (before it can start) and closed when it leaves, as its hive socket is. The socket is the identity:
/// every connection accepted on it is handed to <paramref name="accepted"/> with the agent's name. The gateway's doors and
/// the egress proxy's are two of these.
/// </summary>
public sealed class AgentDoorSockets(
    string kind, IAgentDirectory agents, HivePaths paths, Action<System.Net.Sockets.Socket, string> accepted, ILogger logger, Action<string>? closed = null)
    : IAsyncDisposable
{
    private readonly Dictionary<string, Door> _doors = new(StringComparer.Ordinal); // also the lock for _stopped
    private AgentSubscription? _subscription;
    private bool _stopped;

    public string SocketOf(string agent) => Path.Combine(paths.RunDir, $"{agent}.{kind}.sock");

    /// <summary>Opens the door of every agent in the directory, and of every agent that joins it from now on.</summary>
    public void Start()
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
    }

    /// <summary>Opens <paramref name="agent"/>'s door if it is not open yet (normally it is: the agent joined the directory).</summary>
    public void Open(string agent)
    {
        lock (_doors)
        {
            if (_stopped || _doors.ContainsKey(agent)) return;
            var path = SocketOf(agent);
            var (socket, created) = SocketFiles.Listen(path, Path.Combine(paths.RunDir, $".{agent}.{kind}.new"),
                UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var door = new Door(agent, path, socket, created);
            _doors[agent] = door;
            door.Loop = AcceptAsync(door);
        }
    }

    private void TryOpen(string agent)
    {
        try
        {
            Open(agent);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            logger.LogError(e, "{Kind}: could not open the {Kind} socket of {Agent}", kind, kind, agent);
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
        closed?.Invoke(agent);
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
                accepted(connection, door.Agent);
            }
            catch (Exception) when (door.Closing.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                if (backoff == TimeSpan.Zero) logger.LogWarning("{Kind}: accept failed on {Agent}'s {Kind} socket: {Error}; backing off", kind, door.Agent, kind, e.SocketErrorCode);
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.TicksPerSecond));
                try { await Task.Delay(backoff, door.Closing); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Closes every door and stops opening new ones; the connections already accepted are their owner's to end.</summary>
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
    }

    private sealed class Door(string agent, string path, System.Net.Sockets.Socket socket, SocketFiles.Identity? created)
    {
        private readonly CancellationTokenSource _closing = new();
        public string Agent => agent;
        public System.Net.Sockets.Socket Socket => socket;
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
