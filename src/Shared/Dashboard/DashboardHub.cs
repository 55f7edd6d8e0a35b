using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Hive.Shared.Dashboard;

public sealed record DashboardEventRecord(long Id, string Type, string Data)
{
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
    private readonly List<Channel<DashboardEventRecord>> _subscribers = [];
    private long _lastId;
    private int _count;

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

    public DashboardEventRecord Publish(string type, string data)
    {
        lock (_gate)
        {
            var record = new DashboardEventRecord(++_lastId, type, data);
            _ring[(int)(record.Id % _ring.Length)] = record;
            if (_count < _ring.Length) _count++;

            for (var i = _subscribers.Count - 1; i >= 0; i--)
            {
                if (_subscribers[i].Writer.TryWrite(record)) continue;
                _subscribers[i].Writer.TryComplete(new SubscriberOverflowException());
                _subscribers.RemoveAt(i);
            }
            return record;
        }
    }

    /// <summary>
    /// Registers a subscriber and, in the same critical section, takes the events it missed, so nothing falls
    /// between replay and live. An id the ring no longer covers (or one from another run) asks for a resync.
    /// </summary>
    public Subscription Subscribe(long? lastEventId)
    {
        var channel = Channel.CreateBounded<DashboardEventRecord>(new BoundedChannelOptions(_queueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of dropping: we cut the subscriber off.
        });
        lock (_gate)
        {
            _subscribers.Add(channel);
            var oldestCovered = _lastId - _count; // the ring holds ids (oldestCovered, _lastId]
            if (lastEventId is not { } last)
                return new Subscription(this, channel, [], Resync: false, _lastId);
            if (last < oldestCovered || last > _lastId)
                return new Subscription(this, channel, [], Resync: true, _lastId);

            var replay = new List<DashboardEventRecord>((int)(_lastId - last));
            for (var id = last + 1; id <= _lastId; id++) replay.Add(_ring[(int)(id % _ring.Length)]);
            return new Subscription(this, channel, replay, Resync: false, _lastId);
        }
    }

    /// <summary>Ends every live stream (clients reconnect with Last-Event-ID and lose nothing): used on shutdown and in tests.</summary>
    public void DisconnectAll()
    {
        lock (_gate)
        {
            foreach (var subscriber in _subscribers) subscriber.Writer.TryComplete();
            _subscribers.Clear();
        }
    }

    internal void Unsubscribe(Channel<DashboardEventRecord> channel)
    {
        lock (_gate) _subscribers.Remove(channel);
        channel.Writer.TryComplete();
    }

    public sealed class Subscription(
        DashboardHub hub,
        Channel<DashboardEventRecord> channel,
        IReadOnlyList<DashboardEventRecord> replay,
        bool Resync,
        long LastIdAtSubscribe) : IDisposable
    {
        public IReadOnlyList<DashboardEventRecord> Replay { get; } = replay;
        public bool NeedsResync { get; } = Resync;
        public long LastIdAtSubscribe { get; } = LastIdAtSubscribe;
        public ChannelReader<DashboardEventRecord> Live => channel.Reader;
        public void Dispose() => hub.Unsubscribe(channel);
    }
}

/// <summary>Ends a subscriber's stream when its queue overflowed.</summary>
public sealed class SubscriberOverflowException() : Exception("the subscriber fell too far behind");
