using System.Diagnostics.Metrics;
using Hive.Shared.Metrics;
using Microsoft.Extensions.Options;

namespace Hive.Features.Notifications;

/// <summary>
/// Push attempts by channel (a configured name, so bounded): one that got through is a delivery, one that did not a
/// failure (a retried push fails once per attempt). Counted after the attempt's row commits.
/// </summary>
public sealed class NotificationsMetrics : HiveMetrics
{
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _failed;

    public NotificationsMetrics(IMeterFactory meters, IOptions<NotificationsOptions> options) : base(meters, "Notifications")
    {
        _delivered = Meter.CreateCounter<long>("hive_notifications_delivered_total", description: "Pushes a channel accepted, by channel.");
        _failed = Meter.CreateCounter<long>("hive_notifications_failed_total", description: "Push attempts that failed, by channel.");
        foreach (var channel in options.Value.Channels.Keys)
        {
            _delivered.Add(0, Channel(channel));
            _failed.Add(0, Channel(channel));
        }
    }

    internal void Attempted(string channel, bool delivered) => (delivered ? _delivered : _failed).Add(1, Channel(channel));

    private static KeyValuePair<string, object?> Channel(string name) => new("channel", name);
}
