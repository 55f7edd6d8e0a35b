using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text.Json;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Contracts.Json;
using Hive.Shared.Json;
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
/// parked <c>recv</c> is cancelled).
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
    ILogger<AgentSocketServer> logger) : IHostedService, IAsyncDisposable
{
    public const int MaxLineBytes = 64 * 1024;

    /// <summary>One agent may hold at most this many connections (long-polls included); the rest are refused.</summary>
    public const int MaxConnectionsPerAgent = 64;

    private readonly UnixFileMode _fileMode = SocketFileMode.Parse(options.Value.Sockets.FileMode);
    private readonly TimeSpan _idleTimeout = Seconds(options.Value.Sockets.IdleTimeoutSeconds);
    private readonly TimeSpan _writeTimeout = Seconds(options.Value.Sockets.WriteTimeoutSeconds);
    private int _connections; // every agent's together, held under limits.AgentConnections
    private readonly Dictionary<string, Listener> _listeners = new(StringComparer.Ordinal); // also the lock for _stopped
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
            var listener = new Listener(agent, path, socket, created);
            _listeners[agent] = listener;
            listener.AcceptLoop = AcceptLoopAsync(listener);
        }
    }

    /// <summary>Stops accepting for an agent, deletes its socket file and closes its open connections.</summary>
    private void Close(string agent)
    {
        Listener? listener;
        lock (_listeners)
        {
            if (!_listeners.Remove(agent, out listener)) return;
        }
        listener.Close();
    }

    private async Task AcceptLoopAsync(Listener listener)
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

    private static async Task RefuseAsync(System.Net.Sockets.Socket connection, HiveException why)
    {
        using (connection)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await connection.SendAsync(WithNewline(Failure(why)), SocketFlags.None, cts.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException) { }
        }
    }

    private async Task ServeAsync(Listener listener, System.Net.Sockets.Socket connection)
    {
        var agent = listener.Agent;
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        var reader = PipeReader.Create(stream);
        var ct = listener.Closing;
        // Replies time out (an agent that does not read them is closed, not served into a full socket for ever) ...
        await using var replies = new ReplyStream(stream, _writeTimeout, ct);
        // ... and so does waiting for a request: the next whole line must arrive within the idle timeout of the last
        // reply (bytes trickling in do not count), and no timer runs while a request is served (a parked recv included).
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(_idleTimeout);
        using var closed = new CancellationTokenSource();
        var discarding = false; // inside an over-long line whose error was already sent
        try
        {
            while (true)
            {
                ReadResult read;
                try
                {
                    read = await reader.ReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    logger.LogInformation("closed an idle connection of {Agent}: no request for {Seconds} s", agent, _idleTimeout.TotalSeconds);
                    break;
                }
                var buffer = read.Buffer;
                var served = false;
                while (TryTakeLine(ref buffer, out var line) || (read.IsCompleted && TryTakeRest(ref buffer, out line)))
                {
                    if (!served)
                    {
                        idle.CancelAfter(Timeout.InfiniteTimeSpan);
                        served = true;
                    }
                    if (discarding)
                    {
                        discarding = false;
                        continue;
                    }
                    if (line.Length > MaxLineBytes)
                        await ReplyAsync(replies, Failure(new TooLargeException($"a request line is limited to {MaxLineBytes} bytes")), ct);
                    else
                        await HandleLineAsync(agent, line, replies, connection, closed, ct);
                }
                if (served) idle.CancelAfter(_idleTimeout);

                if (buffer.Length > MaxLineBytes)
                {
                    if (!discarding)
                        await ReplyAsync(replies, Failure(new TooLargeException($"a request line is limited to {MaxLineBytes} bytes")), ct);
                    discarding = true;
                    buffer = buffer.Slice(buffer.End);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted) break;
            }
        }
        catch (ReplyTimeoutException)
        {
            logger.LogWarning("closed a connection of {Agent}: it did not read its replies for {Seconds} s", agent, _writeTimeout.TotalSeconds);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            // The agent hung up, or its socket closed (the agent was removed or the host is stopping).
        }
        catch (Exception e)
        {
            logger.LogError(e, "a connection of {Agent} failed", agent);
        }
        finally
        {
            await closed.CancelAsync(); // what a verb tied to this connection (a granted turn) is let go
            listener.Untrack(connection);
            Interlocked.Decrement(ref _connections);
            await reader.CompleteAsync();
        }
    }

    /// <summary>A last request without its newline, sent just before the agent half-closed the socket.</summary>
    private static bool TryTakeRest(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        line = buffer;
        buffer = buffer.Slice(buffer.End);
        return line.Length > 0;
    }

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var end = buffer.PositionOf((byte)'\n');
        if (end is null)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, end.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, end.Value));
        return true;
    }

    /// <summary>Handles one request and writes its reply; a verb's undo runs if the reply cannot be written.</summary>
    private async Task HandleLineAsync(string agent, ReadOnlySequence<byte> line, Stream stream, System.Net.Sockets.Socket connection,
        CancellationTokenSource closed, CancellationToken ct)
    {
        JsonDocument document;
        try
        {
            document = StrictJson.Parse(line); // duplicate keys and trailing data are bad_request too
        }
        catch (JsonException e)
        {
            await ReplyAsync(stream, Failure(new BadRequestException($"the line is not valid JSON: {StrictJson.Reason(e)}")), ct);
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            string? name = null;
            try
            {
                if (root.ValueKind != JsonValueKind.Object) throw new BadRequestException("a request must be a JSON object");
                if (!root.TryGetProperty("op", out var op) || op.ValueKind != JsonValueKind.String)
                    throw new BadRequestException("a request needs a string 'op'");
                name = op.GetString()!; // throws on invalid UTF-8, answered below as bad_request
            }
            catch (Exception e) when (e is BadRequestException or InvalidOperationException)
            {
                await ReplyAsync(stream, Failure(e as BadRequestException ?? new BadRequestException("'op' is not valid UTF-8")), ct);
                return;
            }
            if (!verbs.TryGet(name, out var handler))
            {
                await ReplyAsync(stream, Failure(new BadRequestException($"unknown op {Truncate(name)}")), ct);
                return;
            }

            await using var scope = scopes.CreateAsyncScope();
            // A request ends early when its agent hangs up (a parked recv or turn watch has no one left to answer).
            using var served = CancellationTokenSource.CreateLinkedTokenSource(ct, closed.Token);
            var request = new SocketRequest(agent, root, scope.ServiceProvider, served.Token) { ConnectionClosed = closed.Token };
            byte[] reply;
            try
            {
                var handling = handler(request);
                if (!handling.IsCompleted && !await AnsweredWithinAsync(handling, HangUpWatchAfter)) await WatchForHangUpAsync(connection, handling, closed);
                reply = Success(await handling);
            }
            catch (Exception e) when (e is not OperationCanceledException || !served.IsCancellationRequested)
            {
                var error = HiveError.From(e);
                // A storage fault is logged by the health (once, naming the database); anything else unexpected here.
                if (error.IsServerFault && !health.Observe(e)) logger.LogError(e, "{Op} from {Agent} failed", name, agent);
                reply = Failure(error);
            }

            if (agent == Agents.AgentNames.Manager && !ReadOnlyVerbs.Contains(name))
                audit.Record(new Audit.AuditEntry(DateTimeOffset.UtcNow, agent, name, Target(root), reply.AsSpan().StartsWith(OkPrefix) ? "ok" : ErrorCode(reply)));

            try
            {
                await ReplyAsync(stream, reply, ct);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // The agent is gone: whatever the verb handed out must not be lost with it.
                if (request.UndoIfUnreplied is { } undo)
                {
                    try { await undo(); }
                    catch (Exception undoError) { logger.LogError(undoError, "could not undo {Op} for {Agent} after a failed reply", name, agent); }
                }
                throw;
            }
        }
    }

    // Most requests answer within a millisecond or two (a send waits only for its group commit): a peek armed and cancelled
    // for each costs the send path a socket operation and a thread-pool hand-off, so the watch starts only for one still
    // unanswered after this; a hang-up during a parked request is seen that much later.
    private static readonly TimeSpan HangUpWatchAfter = TimeSpan.FromMilliseconds(50);

    private static async Task<bool> AnsweredWithinAsync(Task handling, TimeSpan grace)
    {
        using var timer = new CancellationTokenSource(grace);
        try
        {
            await handling.WaitAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !handling.IsCompleted)
        {
            return false;
        }
        catch
        {
            // the caller awaits it again and sees what it threw
        }
        return true;
    }

    /// <summary>
    /// While a request is parked the read loop waits for it, so a hang-up would go unseen until it answered (and a granted
    /// turn would keep its slot that long): peek at the socket meanwhile; a zero-byte read means the agent is gone. A peek
    /// that finds bytes (the agent pipelined its next request) ends the watch: those are read once the request answers.
    /// </summary>
    private static async Task WatchForHangUpAsync(System.Net.Sockets.Socket connection, Task handling, CancellationTokenSource closed)
    {
        using var answered = new CancellationTokenSource();
        var watch = WatchAsync();
        try
        {
            await handling;
        }
        catch
        {
            // the caller awaits it again and sees what it threw
        }
        finally
        {
            await answered.CancelAsync();
            await watch;
        }

        async Task WatchAsync()
        {
            try
            {
                if (await connection.ReceiveAsync(new byte[1], SocketFlags.Peek, answered.Token) == 0) await closed.CancelAsync();
            }
            catch (OperationCanceledException) { }
            catch (ObjectDisposedException) { }
            catch (SocketException)
            {
                await closed.CancelAsync();
            }
        }
    }

    /// <summary>The manager's verbs that change nothing (its waits and reads): every other verb of the manager is audited.</summary>
    private static readonly HashSet<string> ReadOnlyVerbs =
        new(["whoami", "recv", "ack", "list_agents", "begin_turn", "watch_turn", "record_turn", "count", "loose_ends"], StringComparer.Ordinal);

    /// <summary>The agent a verb is aimed at (<c>name</c> or <c>to</c>), for the audit log; never a body.</summary>
    private static string? Target(JsonElement root) =>
        (root.TryGetProperty("name", out var name) || root.TryGetProperty("to", out name)) && name.ValueKind == JsonValueKind.String
            ? Truncate(name.GetString()!)
            : null;

    private static string ErrorCode(byte[] reply)
    {
        try
        {
            using var document = JsonDocument.Parse(reply);
            return document.RootElement.TryGetProperty("code", out var code) ? code.GetString() ?? "error" : "error";
        }
        catch (JsonException)
        {
            return "error";
        }
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static readonly byte[] OkPrefix = "{\"ok\":true"u8.ToArray();

    /// <summary>
    /// <c>{"ok":true, ...the result's properties}</c>: the result is serialized once and spliced in after <c>"ok"</c>
    /// (no intermediate JsonDocument: this runs for every request).
    /// </summary>
    private static byte[] Success(object? result)
    {
        if (result is null) return [.. OkPrefix, (byte)'}'];
        var fields = JsonSerializer.SerializeToUtf8Bytes(result, result.GetType(), HiveJson.Options);
        if (fields is not [(byte)'{', .., (byte)'}']) throw new InvalidOperationException("a verb's reply must be a JSON object");
        if (fields.Length == 2) return [.. OkPrefix, (byte)'}'];
        var reply = new byte[OkPrefix.Length + fields.Length]; // '{' of the fields becomes the ','
        OkPrefix.CopyTo(reply, 0);
        reply[OkPrefix.Length] = (byte)',';
        fields.AsSpan(1).CopyTo(reply.AsSpan(OkPrefix.Length + 1));
        return reply;
    }

    private static byte[] Failure(Exception e) => Failure(HiveError.From(e));

    private static byte[] Failure(HiveError error) =>
        JsonSerializer.SerializeToUtf8Bytes(new SocketFailure(false, error.Message, error.Code, error.Errors), HiveJson.Options);

    private sealed record SocketFailure(
        bool Ok, string Error, string Code,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] IDictionary<string, string[]>? Errors);

    /// <summary>The reply and its newline in one write: one syscall, one wake-up of the agent.</summary>
    private static async Task ReplyAsync(Stream stream, byte[] reply, CancellationToken ct) =>
        await stream.WriteAsync(WithNewline(reply), ct);

    private static byte[] WithNewline(byte[] reply)
    {
        var line = new byte[reply.Length + 1];
        reply.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        return line;
    }

    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    public async ValueTask DisposeAsync()
    {
        List<Listener> listeners;
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

    private enum Admission { Admitted, Full, Closed }

    /// <summary>One agent's listening socket and the connections it accepted.</summary>
    private sealed class Listener(string agent, string path, System.Net.Sockets.Socket socket, SocketFiles.Identity? created)
    {
        private readonly CancellationTokenSource _closing = new();
        private readonly HashSet<System.Net.Sockets.Socket> _open = [];
        private bool _closed;

        public string Agent { get; } = agent;
        public string Path { get; } = path;
        public System.Net.Sockets.Socket Socket { get; } = socket;
        public Task? AcceptLoop { get; set; }

        /// <summary>Cancelled when the socket closes: every request in flight on it (a parked recv, say) stops.</summary>
        public CancellationToken Closing => _closing.Token;

        public Admission TryTrack(System.Net.Sockets.Socket connection)
        {
            lock (_open)
            {
                if (_closed) return Admission.Closed;
                if (_open.Count >= MaxConnectionsPerAgent) return Admission.Full;
                _open.Add(connection);
                return Admission.Admitted;
            }
        }

        public int OpenCount
        {
            get { lock (_open) return _open.Count; }
        }

        public void Untrack(System.Net.Sockets.Socket connection)
        {
            lock (_open) _open.Remove(connection);
        }

        public void Close()
        {
            List<System.Net.Sockets.Socket> open;
            lock (_open)
            {
                if (_closed) return;
                _closed = true;
                open = [.. _open];
            }
            _closing.Cancel(); // first, so the accept loop and the connections take their ends as cancellation
            Socket.Dispose();
            SocketFiles.DeleteIfSame(Path, created); // only the file this host bound, not one another process put there since
            foreach (var connection in open)
            {
                // Wakes a read or a write that is not watching the token; the connection's own task disposes it.
                try { connection.Shutdown(SocketShutdown.Both); }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            }
        }
    }
}
