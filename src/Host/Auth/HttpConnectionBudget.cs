using Hive.Shared.Limits;
using Microsoft.AspNetCore.Connections;

namespace Hive.Host.Auth;

/// <summary>
/// Keeps the operator able to reach the host however many connections others hold. A connection is unauthenticated
/// from its accept until a request on it carries a valid credential (Bearer, session cookie, or the sign-in link with
/// the right token); from then on it is the operator's for good, even if a later request on it carries none (a
/// connection is one client's: a browser's or a script's pool). At most <see cref="ConnectionLimits.HttpConnections"/>
/// connections are open, of which <see cref="ConnectionLimits.UnauthenticatedConnections"/> may be unauthenticated: the
/// rest are a reserve only signed-in ones can hold.
/// <para>
/// The operator's own new connection is unauthenticated until its first request is read, so refusing newcomers would
/// let a flood that holds its connections keep it out. Instead, over either cap an unauthenticated connection is closed
/// to make room, never the newcomer, chosen in this order: one known not to be the operator's (its first request
/// carried no valid credential), then one that has sent nothing yet, then one whose first request is still arriving;
/// the oldest first within each. And the first request's head is read here, before Kestrel parses it (it reads the
/// same bytes after), so the operator's connection is signed in as soon as its head arrives, however far behind a
/// flood has put request processing. This check only classifies the connection; the request itself is still
/// authorised by <see cref="OperatorAuthMiddleware"/>. What a flood could still do is open more than the budget's
/// worth of silent connections in the moment between the operator's connect and its first bytes.
/// </para>
/// An unauthenticated connection with no request running for <see cref="ConnectionLimits.UnauthenticatedIdle"/> (from
/// its accept, or its last request) is closed, so a silent or trickling one cannot hold a slot for Kestrel's two-minute
/// keep-alive. With sign-in off every connection is the operator's (nothing tells them apart): only the total applies.
/// </summary>
public sealed class HttpConnectionBudget : IDisposable
{
    private readonly object _lock = new();
    private readonly LinkedList<BudgetedConnection> _unauthenticated = new(); // in accept order: the oldest is the first closed
    private readonly int _total, _budget;
    private readonly TimeSpan _idle;
    private readonly bool _everyoneIsOperator;
    private readonly TimeProvider _clock;
    private readonly ITimer _sweeper;
    private int _authenticated;
    private long _evicted, _idleClosed, _refused;

    public HttpConnectionBudget(ConnectionLimits limits, OperatorAuthSettings settings, TimeProvider clock)
    {
        _total = limits.HttpConnections;
        _budget = limits.UnauthenticatedConnections;
        _idle = limits.UnauthenticatedIdle;
        _everyoneIsOperator = settings.Mode == OperatorAuthOptions.NoneMode;
        _clock = clock;
        // A quarter of the idle time between sweeps: an idle connection goes within 1.25 times its idle time.
        var period = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _idle.Ticks / 4));
        _sweeper = clock.CreateTimer(_ => Sweep(), null, period, period);
    }

    /// <summary>The operator's token, once resolved (<see cref="OperatorAuth.UseOperatorAuth"/>); null with sign-in off.</summary>
    public OperatorToken? Token { get; set; }

    public int Unauthenticated
    {
        get { lock (_lock) return _unauthenticated.Count; }
    }

    public int Authenticated => Volatile.Read(ref _authenticated);

    /// <summary>Unauthenticated connections closed to make room.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Unauthenticated connections closed for being idle.</summary>
    public long IdleClosed => Interlocked.Read(ref _idleClosed);

    /// <summary>New connections closed on accept: every open one was signed in.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Kestrel's connection middleware: admits the connection (making room if it can) and forgets it when it ends.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var now = _clock.GetTimestamp();
        var tracked = new BudgetedConnection(connection, now);
        List<BudgetedConnection>? victims = null;
        var admitted = true;
        lock (_lock)
        {
            if (_everyoneIsOperator)
            {
                admitted = _authenticated < _total;
                if (admitted)
                {
                    tracked.Authenticated = true;
                    _authenticated++;
                }
            }
            else
            {
                tracked.Node = _unauthenticated.AddLast(tracked);
                var needed = Math.Max(_unauthenticated.Count - _budget, _unauthenticated.Count + _authenticated - _total);
                victims = MakeRoom(needed, tracked);
                if (_unauthenticated.Count + _authenticated > _total)
                {
                    _unauthenticated.Remove(tracked.Node);
                    tracked.Node = null;
                    admitted = false;
                }
            }
        }
        Close(victims, ref _evicted, "over the connection budget: the oldest unauthenticated connection is closed");
        if (!admitted)
        {
            Interlocked.Increment(ref _refused);
            return; // Kestrel closes it
        }

        // Read by the request side (Kestrel's request features fall back to the connection's).
        connection.Features.Set(tracked);
        try
        {
            if (!tracked.Authenticated && Token is { } token) await ClassifyFirstRequestAsync(connection, tracked, token);
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

    /// <summary>
    /// Takes up to <paramref name="needed"/> unauthenticated connections but <paramref name="newcomer"/> off the list, in
    /// the order of <see cref="BudgetedConnection.Rank"/>, oldest first within a rank. Under the lock.
    /// </summary>
    private List<BudgetedConnection>? MakeRoom(int needed, BudgetedConnection? newcomer)
    {
        List<BudgetedConnection>? victims = null;
        for (var rank = 0; rank <= BudgetedConnection.LastRank && needed > 0; rank++)
        {
            for (var node = _unauthenticated.First; node is not null && needed > 0;)
            {
                var next = node.Next;
                var tracked = node.Value;
                if (tracked != newcomer && tracked.Rank == rank)
                {
                    _unauthenticated.Remove(node);
                    tracked.Node = null;
                    (victims ??= []).Add(tracked);
                    needed--;
                }
                node = next;
            }
        }
        return victims;
    }

    private static void Close(List<BudgetedConnection>? victims, ref long counter, string reason)
    {
        if (victims is null) return;
        Interlocked.Add(ref counter, victims.Count);
        foreach (var victim in victims) victim.Connection.Abort(new ConnectionAbortedException(reason));
    }

    /// <summary>
    /// Waits for the first request's head (<see cref="FirstRequestHead"/>) and signs the connection in if it carries a valid
    /// credential; otherwise it is known not to be the operator's. Consumes nothing: Kestrel reads the same bytes.
    /// </summary>
    private async Task ClassifyFirstRequestAsync(ConnectionContext connection, BudgetedConnection tracked, OperatorToken token)
    {
        if (await FirstRequestHead.SignsInAsync(connection, tracked, token) is not { } signedIn) return;
        lock (_lock)
        {
            if (tracked.Node is null) return; // closed meanwhile
            if (!signedIn)
            {
                tracked.KnownAnonymous = true;
                return;
            }
            _unauthenticated.Remove(tracked.Node);
            tracked.Node = null;
            tracked.Authenticated = true;
            _authenticated++;
        }
    }

    /// <summary>Around every request, first in the pipeline: a connection with a request running is not idle.</summary>
    public async Task TrackRequestAsync(HttpContext context, RequestDelegate next)
    {
        var tracked = context.Features.Get<BudgetedConnection>();
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
                tracked.KnownAnonymous = true; // when still on the list: a whole request without a credential
                tracked.LastActivity = _clock.GetTimestamp();
            }
        }
    }

    /// <summary>A request on this connection carried a valid credential: it leaves the unauthenticated budget for good.</summary>
    public void SignedIn(HttpContext context)
    {
        if (context.Features.Get<BudgetedConnection>() is not { } tracked) return;
        lock (_lock)
        {
            if (tracked.Node is null) return; // already the operator's, or closed
            _unauthenticated.Remove(tracked.Node);
            tracked.Node = null;
            tracked.Authenticated = true;
            _authenticated++;
        }
    }

    /// <summary>Closes the idle unauthenticated connections.</summary>
    private void Sweep()
    {
        List<BudgetedConnection>? idle = null;
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
        Close(idle, ref _idleClosed, "an unauthenticated connection idle for too long");
    }

    public void Dispose() => _sweeper.Dispose();
}
