using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The tombstones, the whole list (it is small, and a snapshot beats a diff), with the retention summary (the snapshot's
/// <c>tombstone_retention</c>): each sweep raises it, so the page's "next purge" moves on.
/// </summary>
public sealed record TombstonesChanged(IReadOnlyList<TombstoneView> Tombstones, TombstoneRetentionSummary Retention) : IDashboardEvent
{
    public string EventType => "tombstones_changed";
    public object Payload => new { tombstones = Tombstones, retention = Retention };
}

/// <summary>A destroyed agent whose state dir is kept: <c>bytes</c> is its size on disk.</summary>
public sealed record TombstoneView(string Name, DateTimeOffset DestroyedAt, long Bytes, TombstoneRetentionStatus Retention);

/// <summary>
/// Where a tombstone stands with retention: <c>off</c> (retention is off), <c>waiting</c> (purged by the first sweep after
/// <c>due_at</c>), <c>due</c> (the next sweep checks it and purges it unless it holds unpushed work), <c>kept</c> (a sweep
/// found <c>reason</c> at <c>checked_at</c>; checked again by each sweep).
/// </summary>
public sealed record TombstoneRetentionStatus(string State, DateTimeOffset? DueAt, string? Reason, DateTimeOffset? CheckedAt);

/// <summary>
/// The tombstones as a whole: their total size on disk, the retention in days (null: off) and when the next sweep runs
/// (null: off, or not scheduled yet).
/// </summary>
public sealed record TombstoneRetentionSummary(int? RetainDays, DateTimeOffset? NextSweepAt, long TotalBytes);

/// <summary>
/// <c>main</c> of the meta repo (<see cref="Hive.Shared.HivePaths.MetaDir"/>) moved: a commit, or a reset after a failed
/// deploy. The forge pushes it; the page's open meta section reloads its log (the log is fetched, not carried).
/// </summary>
public sealed record MetaCommitted(string Commit) : IDashboardEvent
{
    public string EventType => "meta_committed";
    public object Payload => new { commit = Commit };
}

/// <summary>The operator's secrets changed: the whole list of names and dates (never a value).</summary>
public sealed record SecretsChanged(IReadOnlyList<SecretView> Secrets) : IDashboardEvent
{
    public string EventType => "secrets_changed";
    public object Payload => new { secrets = Secrets };
}

/// <summary>
/// A running agent's usage moved by more than <see cref="AgentUsageLoop"/>'s thresholds since it was last told: memory in
/// MiB, CPU in percent of one core over the last window, processes. Not raised while nothing changes.
/// </summary>
public sealed record AgentUsageChanged(string Agent, Runtime.AgentUsage Usage) : IDashboardEvent
{
    public string EventType => "agent_usage";
    public object Payload => new { agent = Agent, memory_mib = Usage.MemoryMib, cpu_percent = Usage.CpuPercent, pids = Usage.Pids };
}
