using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Hive.Contracts.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Metrics;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// The broker's figures. Sent, delivered and dead are counted from the notifications published after their commit, so
/// they count stored facts; a redelivery and the two timings are measured where the socket verbs hand messages out.
/// <c>agent</c> is the sender for sent, the recipient for the rest (<c>operator</c>, <c>hive</c> and <c>reminder</c>
/// appear as senders too: names, never bodies).
/// </summary>
public sealed class MessagesMetrics : HiveMetrics
{
    private readonly Counter<long> _sent;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _redelivered;
    private readonly Counter<long> _dead;
    private readonly Counter<long> _handedOver;
    private long _handedOverTotal;
    private readonly Histogram<double> _sendLatency;
    private readonly Histogram<double> _recvWait;
    private readonly ConcurrentDictionary<string, int> _parked = new(StringComparer.Ordinal);

    public MessagesMetrics(IMeterFactory meters, IAgentDirectory agents) : base(meters, "Messages")
    {
        _sent = Meter.CreateCounter<long>("hive_messages_sent_total", description: "Messages stored, by sender.");
        _delivered = Meter.CreateCounter<long>("hive_messages_delivered_total", description: "Messages acknowledged, by recipient.");
        _redelivered = Meter.CreateCounter<long>("hive_messages_redelivered_total",
            description: "Messages handed out again after an ack timeout, by recipient.");
        _dead = Meter.CreateCounter<long>("hive_messages_dead_total",
            description: "Messages set aside as undeliverable after their last delivery, by recipient.");
        _handedOver = Meter.CreateCounter<long>("hive_recv_handed_over_total",
            description: "Parked recvs answered with what a send handed them in its own transaction (no take of their own), by recipient.");
        _sendLatency = LatencyHistogram("hive_send_latency_seconds", "Handling of an agent's send verb, from its request to its reply.");
        _recvWait = LatencyHistogram("hive_recv_wait_seconds", "How long an agent's recv waited before it returned messages.");
        Meter.CreateObservableGauge("hive_recv_parked", () => _parked.Select(p => new Measurement<int>(p.Value, Agent(p.Key))),
            description: "Recvs parked waiting for a message (or, for a held agent, for its hold to lift), by agent.");
        SeedPerAgent(agents, _sent, _delivered, _redelivered, _dead);
    }

    /// <summary>How many of <paramref name="agent"/>'s recvs are parked now: waiting for a message, or for a hold on it to lift.</summary>
    public int ParkedRecvs(string agent) => _parked.GetValueOrDefault(agent);

    /// <summary>Parked recvs answered by a send's hand-over since start, all agents together.</summary>
    public long HandedOver => Interlocked.Read(ref _handedOverTotal);

    internal void CountHandedOver(string agent)
    {
        Interlocked.Increment(ref _handedOverTotal);
        _handedOver.Add(1, Agent(agent));
    }

    /// <summary>Counts a recv of <paramref name="agent"/> as parked until the returned scope ends.</summary>
    internal IDisposable Park(string agent)
    {
        _parked.AddOrUpdate(agent, 1, (_, n) => n + 1);
        return new Unpark(this, agent);
    }

    private sealed class Unpark(MessagesMetrics metrics, string agent) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) metrics._parked.AddOrUpdate(agent, 0, (_, n) => n - 1);
        }
    }

    internal void Sent(MessageView message) => _sent.Add(1, Agent(message.From));

    internal void Delivered(MessageView message) => _delivered.Add(1, Agent(message.To));

    internal void Dead(MessageView message) => _dead.Add(1, Agent(message.To));

    internal void SendHandled(long startedAt) => _sendLatency.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds);

    /// <summary>A recv that returned <paramref name="messages"/>; one that returned none waited for nothing to measure.</summary>
    internal void Received(string agent, long startedAt, IReadOnlyList<MessageView> messages)
    {
        if (messages.Count == 0) return;
        _recvWait.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds);
        var redelivered = messages.Count(m => m.Redelivered);
        if (redelivered > 0) _redelivered.Add(redelivered, Agent(agent));
    }

    private static KeyValuePair<string, object?> Agent(string name) => new("agent", name);

    internal sealed class CountSent(MessagesMetrics metrics) : INotificationHandler<MessageSent>
    {
        public Task Handle(MessageSent notification, CancellationToken cancellationToken)
        {
            metrics.Sent(notification.Message);
            return Task.CompletedTask;
        }
    }

    internal sealed class CountDelivered(MessagesMetrics metrics) : INotificationHandler<MessageDelivered>
    {
        public Task Handle(MessageDelivered notification, CancellationToken cancellationToken)
        {
            metrics.Delivered(notification.Message);
            return Task.CompletedTask;
        }
    }

    internal sealed class CountDead(MessagesMetrics metrics) : INotificationHandler<MessageUndeliverable>
    {
        public Task Handle(MessageUndeliverable notification, CancellationToken cancellationToken)
        {
            metrics.Dead(notification.Message);
            return Task.CompletedTask;
        }
    }
}
