using System.Net.Sockets;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Limits;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Shared.Socket;

/// <summary>
/// One Unix socket per agent at <c>run/&lt;name&gt;.sock</c> (mode <c>Hive:Sockets:FileMode</c>, 0600 by default), so
/// the socket a request arrives on is the agent's identity. Newline-delimited JSON, one reply per request, in order. A bad
/// line gets an error reply and the connection stays usable. The sockets follow the <see cref="IAgentDirectory"/>: an
/// agent added at run time gets its socket at once; a removed one loses it, and its open connections are closed (a
/// parked <c>recv</c> is cancelled). This class listens (the sockets, their accept loops, the connection caps); a
/// connection's line framing is <see cref="SocketLines"/>', each request's dispatch to its verb <see cref="SocketDispatch"/>'.
/// </summary>
public sealed class AgentSocketServer(
    HivePaths paths,
    IAgentDirectory agents,
    SocketVerbRegistry verbs,
    IServiceScopeFactory scopes,
    IOptions<HiveOptions> options,
    Health.StorageHealth health,
    ConnectionLimits limits,
    Audit.IAuditLog audit,
    TimeProvider clock,
    ILogger<AgentSocketServer> logger,
    IVerbCapture? capture = null) : IHostedService, IAsyncDisposable
{
    public const int MaxLineBytes = 64 * 1024;

    /// <summary>One agent may hold at most this many connections (long-polls included); the rest are refused.</summary>
    public const int MaxConnectionsPerAgent = 64;

    private readonly UnixFileMode _fileMode = SocketFileMode.Parse(options.Value.Sockets.FileMode);
    private readonly SocketLines _lines = new(
        new SocketDispatch(verbs, scopes, health, audit, clock, logger, capture),
        Seconds(options.Value.Sockets.IdleTimeoutSeconds), Seconds(options.Value.Sockets.WriteTimeoutSeconds), logger);
    private int _connections; // every agent's together, held under limits.AgentConnections
    private readonly Dictionary<string, AgentSocketListener> _listeners = new(StringComparer.Ordinal); // also the lock for _stopped
    private AgentSubscription? _subscription;
    private bool _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_listeners)
        {
            // Under the lock, so a change arriving while the first sockets open waits for them (and is not undone by them).
            _subscription = agents.Subscribe(OnDirectoryChanged);
            foreach (var agent in _subscription.Agents) Listen(agent.Name);
        }
        return Task.CompletedTask;
    }

    private void OnDirectoryChanged(AgentChange change)
    {
        if (change.Kind == AgentChangeKind.Added)
        {
            try
            {
                Listen(change.Agent.Name);
            }
            catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
            {
                logger.LogError(e, "could not open the socket of {Agent}", change.Agent.Name);
            }
        }
        else
        {
            Close(change.Agent.Name);
        }
    }

    /// <summary>
    /// Why the host cannot open these agents' sockets (one line naming the path), or null: checked at start-up before
    /// anything listens, so a refusal is one line and no socket of anyone's is touched.
    /// </summary>
    public static string? ProblemWith(HivePaths paths, IEnumerable<string> agents) =>
        agents.Select(a => SocketFiles.Problem(paths.AgentSocket(a))).FirstOrDefault(p => p is not null);

    /// <summary>Opens an agent's socket (replacing a stale file left by a previous run).</summary>
    private void Listen(string agent)
    {
        lock (_listeners)
        {
            if (_stopped || _listeners.ContainsKey(agent)) return;
            var path = paths.AgentSocket(agent);
            var (socket, created) = SocketFiles.Listen(path, System.IO.Path.Combine(paths.RunDir, "." + agent + ".new"), _fileMode);
            var listener = new AgentSocketListener(agent, path, socket, created);
            _listeners[agent] = listener;
            listener.AcceptLoop = AcceptLoopAsync(listener);
        }
    }

    /// <summary>Stops accepting for an agent, deletes its socket file and closes its open connections.</summary>
    private void Close(string agent)
    {
        AgentSocketListener? listener;
        lock (_listeners)
        {
            if (!_listeners.Remove(agent, out listener)) return;
        }
        listener.Close();
    }

    private async Task AcceptLoopAsync(AgentSocketListener listener)
    {
        var ct = listener.Closing;
        var backoff = TimeSpan.Zero;
        while (!ct.IsCancellationRequested)
        {
            System.Net.Sockets.Socket connection;
            try
            {
                connection = await listener.Socket.AcceptAsync(ct);
                backoff = TimeSpan.Zero;
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of descriptors, say: back off instead of spinning (and flooding the log) until it passes.
                if (backoff == TimeSpan.Zero) logger.LogWarning("accept failed on {Agent}'s socket: {Error}; backing off", listener.Agent, e.SocketErrorCode);
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.TicksPerSecond));
                try { await Task.Delay(backoff, ct); } catch (OperationCanceledException) { return; }
                continue;
            }

            if (Interlocked.Increment(ref _connections) > limits.AgentConnections)
            {
                // The host's own cap (its share of the descriptor table), whichever agent holds the connections.
                Interlocked.Decrement(ref _connections);
                _ = RefuseAsync(connection, new BusyException(
                    $"too many connections: the host serves at most {limits.AgentConnections} agent connections at once; retry later"));
                continue;
            }
            switch (listener.TryTrack(connection))
            {
                case Admission.Admitted:
                    _ = ServeAsync(listener, connection);
                    break;
                case Admission.Full:
                    Interlocked.Decrement(ref _connections);
                    _ = RefuseAsync(connection, new ConflictException(
                        $"too many connections: an agent may hold {MaxConnectionsPerAgent} at once"));
                    break;
                default: // closed in the meantime
                    Interlocked.Decrement(ref _connections);
                    connection.Dispose();
                    return;
            }
        }
    }

    /// <summary>Agent connections open now, every agent's together.</summary>
    public int OpenConnections => Volatile.Read(ref _connections);

    /// <summary>Connections of one agent open now (0 when it has no socket).</summary>
    public int OpenConnectionsOf(string agent)
    {
        lock (_listeners) return _listeners.TryGetValue(agent, out var listener) ? listener.OpenCount : 0;
    }

    private static TimeSpan Seconds(double seconds) =>
        seconds > 0 ? TimeSpan.FromSeconds(seconds) : throw new ArgumentOutOfRangeException(nameof(seconds), "socket timeouts must be positive");

    private async Task ServeAsync(AgentSocketListener listener, System.Net.Sockets.Socket connection)
    {
        try
        {
            await _lines.ServeAsync(listener.Agent, connection, listener.Closing);
        }
        finally
        {
            listener.Untrack(connection);
            Interlocked.Decrement(ref _connections);
        }
    }

    private static async Task RefuseAsync(System.Net.Sockets.Socket connection, HiveException why)
    {
        using (connection)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await connection.SendAsync(SocketLines.WithNewline(SocketReplies.Failure(why)), SocketFlags.None, cts.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException) { }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    public async ValueTask DisposeAsync()
    {
        List<AgentSocketListener> listeners;
        lock (_listeners)
        {
            if (_stopped) return;
            _stopped = true;
            listeners = _listeners.Values.ToList();
            _listeners.Clear();
        }
        _subscription?.Dispose();
        foreach (var listener in listeners) listener.Close();
        foreach (var listener in listeners)
            if (listener.AcceptLoop is { } loop) await loop;
    }
}
