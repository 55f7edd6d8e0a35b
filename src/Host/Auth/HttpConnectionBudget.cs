using Hive.Shared.Limits;
using Microsoft.AspNetCore.Connections;

namespace Hive.Host.Auth;

/// <summary>
/// Keeps the operator able to reach the host however many connections others hold. A connection is unauthenticated
/// from its accept until a request on it carries a valid credential (Bearer, session cookie, or the sign-in link with
/// the right token); from then on it is the operator's for good, even if a later request on it carries none (a
/// connection is one client's: a browser's or a script's pool). Only
/// <see cref="ConnectionLimits.UnauthenticatedConnections"/> connections may be unauthenticated at once, and the rest of
/// Kestrel's connections are a reserve only signed-in ones can hold. Over the budget the oldest unauthenticated
/// connection is closed to make room (preferring one with no request running), never the newcomer: the operator's
/// new connection is unauthenticated until its first request is read, and refusing newcomers would let a flood that
/// holds its connections keep it out. An unauthenticated connection with no request running for
/// <see cref="ConnectionLimits.UnauthenticatedIdle"/> (from its accept, or its last request) is closed, so a silent or
/// trickling one cannot hold a slot for Kestrel's two-minute keep-alive. With sign-in off every connection is the
/// operator's (nothing tells them apart).
/// </summary>
public sealed class HttpConnectionBudget : IDisposable
{
    private readonly object _lock = new();
    private readonly LinkedList<Tracked> _unauthenticated = new(); // in accept order: the oldest is the first closed
    private readonly int _budget;
    private readonly TimeSpan _idle;
    private readonly bool _everyoneIsOperator;
    private readonly TimeProvider _clock;
    private readonly ITimer _sweeper;
    private int _authenticated;
    private long _evicted, _idleClosed;

    public HttpConnectionBudget(ConnectionLimits limits, OperatorAuthSettings settings, TimeProvider clock)
    {
        _budget = limits.UnauthenticatedConnections;
        _idle = limits.UnauthenticatedIdle;
        _everyoneIsOperator = settings.Mode == OperatorAuthOptions.NoneMode;
        _clock = clock;
        // A quarter of the idle time between sweeps: an idle connection goes within 1.25 times the idle time.
        var period = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _idle.Ticks / 4));
        _sweeper = clock.CreateTimer(_ => CloseIdle(), null, period, period);
    }

    public int Unauthenticated
    {
        get { lock (_lock) return _unauthenticated.Count; }
    }

    public int Authenticated => Volatile.Read(ref _authenticated);

    /// <summary>Unauthenticated connections closed to make room for a newer one.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Unauthenticated connections closed for being idle.</summary>
    public long IdleClosed => Interlocked.Read(ref _idleClosed);

    /// <summary>Kestrel's connection middleware: admits the connection (closing the oldest unauthenticated one if over budget) and forgets it when it ends.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var tracked = new Tracked(connection, _clock.GetTimestamp());
        Tracked? victim = null;
        lock (_lock)
        {
            if (_everyoneIsOperator)
            {
                tracked.Authenticated = true;
                _authenticated++;
            }
            else
            {
                if (_unauthenticated.Count >= _budget) victim = RemoveOldest();
                tracked.Node = _unauthenticated.AddLast(tracked);
            }
        }
        if (victim is not null)
        {
            Interlocked.Increment(ref _evicted);
            victim.Connection.Abort(new ConnectionAbortedException("over the unauthenticated connection budget: the oldest is closed"));
        }

        // Read by the request side (Kestrel's request features fall back to the connection's).
        connection.Features.Set(tracked);
        try
        {
            await next(connection);
        }
        finally
        {
            lock (_lock)
            {
                if (tracked.Node is not null) _unauthenticated.Remove(tracked.Node);
                else if (tracked.Authenticated) _authenticated--;
                tracked.Node = null;
                tracked.Authenticated = false;
            }
        }
    }

    /// <summary>The first unauthenticated connection with no request running, else the first of all.</summary>
    private Tracked RemoveOldest()
    {
        var node = _unauthenticated.First!;
        for (var candidate = node; candidate is not null; candidate = candidate.Next)
        {
            if (candidate.Value.Requests == 0)
            {
                node = candidate;
                break;
            }
        }
        _unauthenticated.Remove(node);
        node.Value.Node = null;
        return node.Value;
    }

    /// <summary>Around every request, first in the pipeline: a connection with a request running is not idle.</summary>
    public async Task TrackRequestAsync(HttpContext context, RequestDelegate next)
    {
        var tracked = context.Features.Get<Tracked>();
        if (tracked is null)
        {
            await next(context); // not a Kestrel connection (a test server)
            return;
        }
        lock (_lock) tracked.Requests++;
        try
        {
            await next(context);
        }
        finally
        {
            lock (_lock)
            {
                tracked.Requests--;
                tracked.LastActivity = _clock.GetTimestamp();
            }
        }
    }

    /// <summary>A request on this connection carried a valid credential: it leaves the unauthenticated budget for good.</summary>
    public void SignedIn(HttpContext context)
    {
        if (context.Features.Get<Tracked>() is not { } tracked) return;
        lock (_lock)
        {
            if (tracked.Node is null) return; // already the operator's, or closed
            _unauthenticated.Remove(tracked.Node);
            tracked.Node = null;
            tracked.Authenticated = true;
            _authenticated++;
        }
    }

    private void CloseIdle()
    {
        List<Tracked>? idle = null;
        var now = _clock.GetTimestamp();
        lock (_lock)
        {
            for (var node = _unauthenticated.First; node is not null;)
            {
                var next = node.Next;
                var tracked = node.Value;
                if (tracked.Requests == 0 && _clock.GetElapsedTime(tracked.LastActivity, now) >= _idle)
                {
                    _unauthenticated.Remove(node);
                    tracked.Node = null;
                    (idle ??= []).Add(tracked);
                }
                node = next;
            }
        }
        if (idle is null) return;
        Interlocked.Add(ref _idleClosed, idle.Count);
        foreach (var tracked in idle)
            tracked.Connection.Abort(new ConnectionAbortedException("an unauthenticated connection idle for too long"));
    }

    public void Dispose() => _sweeper.Dispose();

    /// <summary>One connection's standing; every field is guarded by the budget's lock.</summary>
    internal sealed class Tracked(ConnectionContext connection, long accepted)
    {
        public ConnectionContext Connection { get; } = connection;

        /// <summary>In the unauthenticated list while unauthenticated and open.</summary>
        public LinkedListNode<Tracked>? Node { get; set; }

        public bool Authenticated { get; set; }

        public int Requests { get; set; }

        public long LastActivity { get; set; } = accepted;
    }
}
