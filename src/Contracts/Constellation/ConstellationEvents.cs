namespace Hive.Contracts.Constellation;

/// <summary><c>constellation_hive_changed</c>: a hive was heard from, or went quiet for 3 of its intervals (unreachable).</summary>
public sealed record ConstellationHiveChangedPayload(HiveView Hive);

/// <summary><c>constellation_status_changed</c>: this hive's side changed.</summary>
public sealed record ConstellationStatusChangedPayload(ConstellationStatus Status);

/// <summary><c>constellation_outbox_backlogged</c>: the outbox's oldest row has waited past the alert.</summary>
public sealed record ConstellationOutboxBackloggedPayload(long Depth, DateTimeOffset OldestUnsentAt);

/// <summary><c>constellation_outbox_drained</c>: the backlog behind an alert has drained; nothing more to say (<c>{}</c>).</summary>
public sealed record ConstellationOutboxDrainedPayload;
