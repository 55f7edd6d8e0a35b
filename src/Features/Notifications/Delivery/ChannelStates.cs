using Hive.Contracts.Notifications;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;

namespace Hive.Features.Notifications;

/// <summary>
/// Each channel's health as the sender last saw it (failing since when and why, last success) and when it last pushed
/// (for the batch window); in memory: a restart starts it afresh, and the next attempt says how it stands.
/// </summary>
internal sealed class ChannelStates(NotificationsMetrics metrics)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, ChannelState> _states = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _lastPush = new(StringComparer.Ordinal);

    public ChannelState Of(string channel)
    {
        lock (_lock) return _states.GetValueOrDefault(channel) ?? new ChannelState(null, null, null);
    }

    public bool MayPush(string channel, DateTimeOffset now, TimeSpan batch)
    {
        lock (_lock) return !_lastPush.TryGetValue(channel, out var last) || now - last >= batch;
    }

    public void Pushed(string channel, DateTimeOffset at)
    {
        lock (_lock) _lastPush[channel] = at;
    }

    /// <summary>An attempt's outcome (<paramref name="error"/> null: it got through), raised as an event when the state changed.</summary>
    public void Record(StateChange change, string channel, string? error, DateTimeOffset at)
    {
        ChannelState before, after;
        lock (_lock)
        {
            before = _states.GetValueOrDefault(channel) ?? new ChannelState(null, null, null);
            after = error is null ? new ChannelState(null, null, at) : new ChannelState(before.FailingSince ?? at, error, before.LastOkAt);
            _states[channel] = after;
        }
        change.AfterPublished(() => metrics.Attempted(channel, error is null));
        if (before.FailingSince is null != after.FailingSince is null || before.LastError != after.LastError)
            change.Raise(new NotificationChannelChanged(channel, after));
    }
}

public sealed record ChannelState(DateTimeOffset? FailingSince, string? LastError, DateTimeOffset? LastOkAt)
{
    public bool Failing => FailingSince is not null;
}

/// <summary>A channel began or stopped failing (or fails otherwise now): its state for the dashboard.</summary>
public sealed record NotificationChannelChanged(string Channel, ChannelState State) : IDashboardEvent<NotificationChannelChangedPayload>
{
    public string EventType => "notification_channel_changed";
    public NotificationChannelChangedPayload Payload => new(Channel, State.Failing, State.FailingSince, State.LastError, State.LastOkAt);
}
