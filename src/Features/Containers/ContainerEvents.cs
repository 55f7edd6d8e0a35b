using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The tombstones, the whole list (it is small, and a snapshot beats a diff).</summary>
public sealed record TombstonesChanged(IReadOnlyList<TombstoneView> Tombstones) : IDashboardEvent
{
    public string EventType => "tombstones_changed";
    public object Payload => new { tombstones = Tombstones };
}

/// <summary>A destroyed agent whose state dir is kept: <c>bytes</c> is its size on disk.</summary>
public sealed record TombstoneView(string Name, DateTimeOffset DestroyedAt, long Bytes);

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
