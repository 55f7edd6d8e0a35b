using Hive.Contracts.Constellation;
using Hive.Shared.Dashboard;

namespace Hive.Features.Constellation;

/// <summary>A hive was heard from (a heartbeat), or went quiet for 3 of its intervals (unreachable).</summary>
public sealed record ConstellationHiveChanged(HiveView Hive) : IDashboardEvent<ConstellationHiveChangedPayload>
{
    public string EventType => "constellation_hive_changed";
    public ConstellationHiveChangedPayload Payload => new(Hive);
}

/// <summary>This hive's side changed: its outbox depth, dead letters, links to the broker, or the outbox alert.</summary>
public sealed record ConstellationStatusChanged(ConstellationStatus Status) : IDashboardEvent<ConstellationStatusChangedPayload>
{
    public string EventType => "constellation_status_changed";
    public ConstellationStatusChangedPayload Payload => new(Status);
}

/// <summary>The outbox's oldest row has waited past <c>OutboxAlertSeconds</c>: mail for other hives is not leaving.</summary>
public sealed record ConstellationOutboxBacklogged(long Depth, DateTimeOffset OldestUnsentAt) : IDashboardEvent<ConstellationOutboxBackloggedPayload>
{
    public string EventType => "constellation_outbox_backlogged";
    public ConstellationOutboxBackloggedPayload Payload => new(Depth, OldestUnsentAt);
}

/// <summary>The backlog behind an alert has drained (or no row waits past the alert any more).</summary>
public sealed record ConstellationOutboxDrained : IDashboardEvent<ConstellationOutboxDrainedPayload>
{
    public string EventType => "constellation_outbox_drained";
    public ConstellationOutboxDrainedPayload Payload => new();
}
