using System.Net.Sockets;

namespace Hive.Testing;

/// <summary>
/// What a hostile pass held against a host: unauthenticated connections kept open by a process that
/// re-opens each one the host closes (half did <c>GET /healthz</c> and keep alive, half connect and send nothing), and
/// signed-in event streams opened far beyond the caps (a runaway script). For the lockout tests and the lockout bench.
/// </summary>
public sealed class ConnectionFlood : IAsyncDisposable
{
    private readonly Uri _baseAddress;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _holders = [];
    private readonly List<RawHttpConnection> _streams = [];
    private int _unauthenticatedOpen, _connected;
    private TimeSpan _reopenDelay;
    private long _closedByServer;

    private ConnectionFlood(Uri baseAddress) => _baseAddress = baseAddress;

    /// <summary>Event streams the host accepted (200), and those it refused (429 or 503).</summary>
    public int StreamsAccepted { get; private set; }
    public int StreamsRefused { get; private set; }

    /// <summary>Refused streams whose connection the host closed after its answer (rather than keeping it for another request).</summary>
    public int RefusedStreamsClosed { get; private set; }

    /// <summary>Statuses of the refused streams (429 per client, 503 for the host).</summary>
    public IReadOnlyDictionary<int, int> RefusedStatuses { get; private set; } = new Dictionary<int, int>();

    /// <summary>Unauthenticated connections open right now (each slot re-opens its connection when the host closes it).</summary>
    public int UnauthenticatedOpen => Volatile.Read(ref _unauthenticatedOpen);

    /// <summary>Unauthenticated connections the host has closed so far (made room for newer ones, or idle).</summary>
    public long ClosedByServer => Interlocked.Read(ref _closedByServer);

    /// <summary>Unauthenticated connections made so far, re-opens included.</summary>
    public int Connected => Volatile.Read(ref _connected);

    /// <summary>
    /// Opens <paramref name="streams"/> event streams with <paramref name="token"/> (each refused one is waited on until
    /// the host closes it, or <paramref name="closeTimeout"/>), then starts <paramref name="keepAlive"/> + <paramref name="silent"/>
    /// unauthenticated slots and returns once each has connected at least once.
    /// </summary>
    /// <param name="reopenDelay">How long, on average, a slot waits before it re-opens a connection the host closed (zero: at once).</param>
    public static async Task<ConnectionFlood> StartAsync(Uri baseAddress, string token, int keepAlive, int silent, int streams,
        TimeSpan? closeTimeout = null, TimeSpan? reopenDelay = null)
    {
        var flood = new ConnectionFlood(baseAddress) { _reopenDelay = reopenDelay ?? TimeSpan.Zero };
        try
        {
            await flood.OpenStreamsAsync(token, streams, closeTimeout ?? TimeSpan.FromSeconds(10));
            var started = new TaskCompletionSource[keepAlive + silent];
            for (var i = 0; i < started.Length; i++)
            {
                started[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var slot = started[i];
                var sendsRequest = i < keepAlive;
                flood._holders.Add(Task.Run(() => flood.HoldAsync(sendsRequest, slot)));
            }
            await Task.WhenAll(started.Select(s => s.Task)).WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await flood.DisposeAsync();
            throw;
        }
        return flood;
    }

    private async Task OpenStreamsAsync(string token, int count, TimeSpan closeTimeout)
    {
        var statuses = new Dictionary<int, int>();
        var gate = new SemaphoreSlim(32); // a few dozen in flight: a burst, without the test's own accept queue in the way
        var refusedClosed = 0;
        await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                var connection = await RawHttpConnection.OpenAsync(_baseAddress);
                await connection.SendGetAsync("/api/events", $"Authorization: Bearer {token}", "Accept: text/event-stream");
                var response = await connection.ReadResponseAsync(TimeSpan.FromSeconds(30), headOnly: true);
                if (response.Status == 200)
                {
                    lock (_streams) _streams.Add(connection);
                    return;
                }
                lock (statuses) statuses[response.Status] = statuses.GetValueOrDefault(response.Status) + 1;
                if (await connection.ClosedByServerAsync(closeTimeout)) Interlocked.Increment(ref refusedClosed);
                connection.Dispose();
            }
            finally
            {
                gate.Release();
            }
        }));
        StreamsAccepted = _streams.Count;
        StreamsRefused = statuses.Values.Sum();
        RefusedStatuses = statuses;
        RefusedStreamsClosed = refusedClosed;
    }

    /// <summary>One slot: connect (and <c>GET /healthz</c>), hold until the host closes it, connect again.</summary>
    private async Task HoldAsync(bool sendsRequest, TaskCompletionSource started)
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            RawHttpConnection connection;
            try
            {
                connection = await RawHttpConnection.OpenAsync(_baseAddress, ct);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // The host's accept queue was full, or we are stopping: try again (the pace of a persistent client).
                try { await Task.Delay(10, ct); } catch (OperationCanceledException) { }
                continue;
            }
            using (connection)
            {
                Interlocked.Increment(ref _connected);
                Interlocked.Increment(ref _unauthenticatedOpen);
                try
                {
                    if (sendsRequest)
                        await connection.GetAsync("/healthz", TimeSpan.FromSeconds(30));
                    started.TrySetResult();
                    if (await connection.ClosedByServerAsync(ct)) Interlocked.Increment(ref _closedByServer);
                }
                catch (Exception e) when (e is IOException or SocketException or TimeoutException or OperationCanceledException)
                {
                    // Closed before its answer (room made for a newer one): counted as closed, and connect again.
                    if (!ct.IsCancellationRequested) Interlocked.Increment(ref _closedByServer);
                    started.TrySetResult();
                }
                finally
                {
                    Interlocked.Decrement(ref _unauthenticatedOpen);
                }
            }
            if (_reopenDelay > TimeSpan.Zero)
            {
                // Spread over half to one and a half times the delay, as persistent clients' retries are: the host closes
                // hundreds at once, and their re-opens in the same millisecond would be a burst of thousands of connects a
                // second, past what the host promises to serve the operator through (see HttpConnectionBudget).
                var delay = _reopenDelay * (0.5 + Random.Shared.NextDouble());
                try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await Task.WhenAll(_holders).WaitAsync(TimeSpan.FromSeconds(30)); } catch (TimeoutException) { }
        lock (_streams)
        {
            foreach (var stream in _streams) stream.Dispose();
            _streams.Clear();
        }
        _stop.Dispose();
    }
}
