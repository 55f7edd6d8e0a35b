using Hive.Shared.Dashboard;

namespace Hive.Features.Constellation;

/// <summary>A hive was heard from (a heartbeat), or went quiet for 3 of its intervals (unreachable).</summary>
public sealed record ConstellationHiveChanged(HiveView Hive) : IDashboardEvent
{
    public string EventType => "constellation_hive_changed";
    public object Payload => new { hive = Hive };
}

/// <summary>This hive's side changed: its outbox depth, dead letters, links to the broker, or the outbox alert.</summary>
public sealed record ConstellationStatusChanged(ConstellationStatus Status) : IDashboardEvent
{
    public string EventType => "constellation_status_changed";
    public object Payload => new { status = Status };
}

/// <summary>The outbox's oldest row has waited past <c>OutboxAlertSeconds</c>: mail for other hives is not leaving.</summary>
public sealed record ConstellationOutboxBacklogged(long Depth, DateTimeOffset OldestUnsentAt) : IDashboardEvent
{
    public string EventType => "constellation_outbox_backlogged";
    public object Payload => new { depth = Depth, oldest_unsent_at = OldestUnsentAt };
}

/// <summary>The backlog behind an alert has drained (or no row waits past the alert any more).</summary>
public sealed record ConstellationOutboxDrained : IDashboardEvent
{
    public string EventType => "constellation_outbox_drained";
    public object Payload => new { };
}
