using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Hive.Shared.Dashboard;

public sealed record DashboardEventRecord(long Id, string Type, string Data, string? Scope = null)
{
    /// <summary>Whether a stream filtered to <paramref name="agent"/> (null: the main stream) gets this event.</summary>
    public bool For(string? agent) => Scope is null || Scope == agent;

    /// <summary>The event as it goes on the SSE wire, formatted once however many subscribers receive it.</summary>
    public byte[] Wire { get; } = System.Text.Encoding.UTF8.GetBytes($"id: {Id}\nevent: {Type}\ndata: {Data}\n\n");
}

/// <summary>
/// Numbers dashboard events, keeps the last N in a ring for Last-Event-ID resume, and fans them out to one bounded
/// queue per subscriber. A subscriber whose queue overflows is cut off (it reconnects and replays from the ring), so
/// a slow tab never blocks a command and no event is dropped silently.
/// </summary>
public sealed class DashboardHub
{
    private readonly object _gate = new();
    private readonly DashboardEventRecord[] _ring;
    private readonly int _queueCapacity;
    private readonly List<(Channel<DashboardEventRecord> Channel, string? Agent)> _subscribers = [];
    private long _lastId;
    private int _count;
    private int _open;

    public DashboardHub(IOptions<HiveOptions> options, TimeProvider clock)
    {
        var dashboard = options.Value.Dashboard;
        _ring = new DashboardEventRecord[Math.Max(1, dashboard.ReplayCapacity)];
        _queueCapacity = Math.Max(1, dashboard.SubscriberQueue);
        // Ids continue across restarts without storage: they start at the start-up time in microseconds, which no
        // earlier run can have reached (that would take a million events a second), and stay below 2^53 for browsers.
        _lastId = clock.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
    }

    /// <summary>The id of the last event published (the <c>seq</c> a snapshot carries).</summary>
    public long LastId
    {
        get { lock (_gate) return _lastId; }
    }

    public DashboardEventRecord Publish(string type, string data, string? scope = null)
    {
        lock (_gate)
        {
            var record = new DashboardEventRecord(++_lastId, type, data, scope);
            _ring[(int)(record.Id % _ring.Length)] = record;
            if (_count < _ring.Length) _count++;

            for (var i = _subscribers.Count - 1; i >= 0; i--)
            {
                if (!record.For(_subscribers[i].Agent) || _subscribers[i].Channel.Writer.TryWrite(record)) continue;
                _subscribers[i].Channel.Writer.TryComplete(new SubscriberOverflowException());
                _subscribers.RemoveAt(i);
            }
            return record;
        }
    }

    /// <summary>
    /// Registers a subscriber and, in the same critical section, fixes the range of events it missed, so nothing falls
    /// between replay and live. The replay itself is read from the ring as the stream goes (<see cref="Subscription.ReadReplay"/>),
    /// never copied whole. An id the ring no longer covers (or one from another run) asks for a resync.
    /// </summary>
    public Subscription Subscribe(long? lastEventId, string? agent = null) =>
        TrySubscribe(lastEventId, int.MaxValue, agent) ?? throw new InvalidOperationException("unreachable: no cap");

    /// <summary>
    /// <see cref="Subscribe"/>, unless <paramref name="maxOpen"/> subscriptions are already open (those the hub cut off
    /// count until their stream is disposed: each still holds a connection): then null.
    /// </summary>
    /// <param name="agent">Null: the main stream. A name: the main stream's events and those scoped to that agent.</param>
    public Subscription? TrySubscribe(long? lastEventId, int maxOpen, string? agent = null)
    {
        lock (_gate)
        {
            if (_open >= maxOpen) return null;
            _open++;
            var channel = Channel.CreateBounded<DashboardEventRecord>(new BoundedChannelOptions(_queueCapacity)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of dropping: we cut the subscriber off.
            });
            _subscribers.Add((channel, agent));
            var oldestCovered = _lastId - _count; // the ring holds ids (oldestCovered, _lastId]
            if (lastEventId is not { } last)
                return new Subscription(this, channel, _lastId, Resync: false, _lastId, agent);
            if (last < oldestCovered || last > _lastId)
                return new Subscription(this, channel, _lastId, Resync: true, _lastId, agent);
            return new Subscription(this, channel, last, Resync: false, _lastId, agent);
        }
    }

    /// <summary>Subscriptions open now (cut-off ones included until their stream ends).</summary>
    public int OpenSubscriptions
    {
        get { lock (_gate) return _open; }
    }

    /// <summary>
    /// Copies the events after <paramref name="after"/> up to <paramref name="upTo"/> from the ring, as many as fit.
    /// Throws <see cref="SubscriberOverflowException"/> when the ring has already overwritten one of them (the reader fell
    /// a whole ring behind: it reconnects and resyncs, as a subscriber whose queue overflowed does).
    /// </summary>
    internal int CopyFromRing(long after, long upTo, Span<DashboardEventRecord> into)
    {
        lock (_gate)
        {
            var count = (int)Math.Min(into.Length, Math.Max(0, upTo - after));
            for (var i = 0; i < count; i++)
            {
                var id = after + 1 + i;
                var record = _ring[(int)(id % _ring.Length)];
                if (record is null || record.Id != id) throw new SubscriberOverflowException();
                into[i] = record;
            }
            return count;
        }
    }

    /// <summary>Ends every live stream (clients reconnect with Last-Event-ID and lose nothing): used on shutdown and in tests.</summary>
    public void DisconnectAll()
    {
        lock (_gate)
        {
            foreach (var subscriber in _subscribers) subscriber.Channel.Writer.TryComplete();
            _subscribers.Clear();
        }
    }

    internal void Unsubscribe(Channel<DashboardEventRecord> channel)
    {
        lock (_gate)
        {
            _subscribers.RemoveAll(s => s.Channel == channel);
            _open--;
        }
        channel.Writer.TryComplete();
    }

    public sealed class Subscription(
        DashboardHub hub,
        Channel<DashboardEventRecord> channel,
        long replayAfter,
        bool Resync,
        long LastIdAtSubscribe,
        string? agent = null) : IDisposable
    {
        private long _replayed = replayAfter; // the last id handed out by ReadReplay
        private int _disposed;

        public bool NeedsResync { get; } = Resync;
        public long LastIdAtSubscribe { get; } = LastIdAtSubscribe;
        public ChannelReader<DashboardEventRecord> Live => channel.Reader;

        /// <summary>
        /// The next events of the replay (those after the client's Last-Event-ID up to <see cref="LastIdAtSubscribe"/>),
        /// read from the ring into <paramref name="into"/>: how many were copied, 0 once the replay is done. Throws
        /// <see cref="SubscriberOverflowException"/> if the ring moved a whole lap past the reader.
        /// </summary>
        public int ReadReplay(Span<DashboardEventRecord> into)
        {
            // Another agent's scoped events are skipped: a chunk may come back short, never empty before the end.
            while (true)
            {
                var count = hub.CopyFromRing(_replayed, LastIdAtSubscribe, into);
                if (count == 0) return 0;
                _replayed += count;
                var kept = 0;
                for (var i = 0; i < count; i++)
                    if (into[i].For(agent)) into[kept++] = into[i];
                into[kept..count].Clear();
                if (kept > 0) return kept;
            }
        }

        /// <summary>The rest of the replay at once: for tests and small rings; the stream reads it in chunks.</summary>
        public IReadOnlyList<DashboardEventRecord> Replay
        {
            get
            {
                var all = new DashboardEventRecord[Math.Max(0, LastIdAtSubscribe - _replayed)];
                return all[..hub.CopyFromRing(_replayed, LastIdAtSubscribe, all)].Where(r => r.For(agent)).ToList();
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) hub.Unsubscribe(channel);
        }
    }
}

/// <summary>Ends a subscriber's stream when its queue overflowed.</summary>
public sealed class SubscriberOverflowException() : Exception("the subscriber fell too far behind");
