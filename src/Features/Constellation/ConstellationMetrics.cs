using System.Diagnostics.Metrics;
using Hive.Shared.Metrics;

namespace Hive.Features.Constellation;

/// <summary>
/// This hive's side of the constellation as gauges, read from the status the watch last looked at (every heartbeat
/// interval, at most 5 s old): the outbox depth and its alert, dead letters, inbox lag, and each link to the broker.
/// </summary>
internal sealed class ConstellationMetrics : HiveMetrics
{
    public ConstellationMetrics(IMeterFactory meters, ConstellationState state) : base(meters, "Constellation")
    {
        Meter.CreateObservableGauge("hive_constellation_outbox_depth", () => state.Last?.OutboxDepth ?? 0,
            description: "Messages for other hives not yet confirmed by the broker.");
        Meter.CreateObservableGauge("hive_constellation_outbox_alert", () => state.Last?.OutboxAlert == true ? 1 : 0,
            description: "1 while the oldest unsent message has waited past OutboxAlertSeconds.");
        Meter.CreateObservableGauge("hive_constellation_dead_letters", () => state.Last?.DeadLetters ?? 0,
            description: "Arrivals kept aside: unparseable, refused, or for no one.");
        Meter.CreateObservableGauge("hive_constellation_inbox_lag", () => state.Last?.InboxLag ?? 0,
            description: "Messages ready on this hive's queue at the last heartbeat.");
        Meter.CreateObservableGauge("hive_constellation_broker_up", () =>
            (state.Last?.Links ?? new Dictionary<string, DateTimeOffset?>()).Select(link =>
                new Measurement<int>(link.Value is null ? 1 : 0, new KeyValuePair<string, object?>("link", link.Key))),
            description: "1 while the connection (relay, inbox, heartbeat) to the broker is up.");
    }
}
