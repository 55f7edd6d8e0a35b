using Hive.Contracts.Containers;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The tombstones, the whole list (it is small, and a snapshot beats a diff), with the retention summary (the snapshot's
/// <c>tombstone_retention</c>): each sweep raises it, so the page's "next purge" moves on.
/// </summary>
public sealed record TombstonesChanged(IReadOnlyList<TombstoneView> Tombstones, TombstoneRetentionSummary Retention) : IDashboardEvent<TombstonesChangedPayload>
{
    public string EventType => "tombstones_changed";
    public TombstonesChangedPayload Payload => new(Tombstones, Retention);
}

/// <summary>
/// <c>main</c> of the meta repo (<see cref="Hive.Shared.HivePaths.MetaDir"/>) moved: a commit, or a reset after a failed
/// deploy. The forge pushes it; the page's open meta section reloads its log (the log is fetched, not carried).
/// <paramref name="Paths"/>: the paths the commit holds (a directory stands for all under it); null when anything may have
/// moved (a reset). Not on the wire.
/// </summary>
public sealed record MetaCommitted(string Commit, IReadOnlyList<string>? Paths) : IDashboardEvent<MetaCommittedPayload>
{
    public string EventType => "meta_committed";
    public MetaCommittedPayload Payload => new(Commit);

    /// <summary>Whether anything under <paramref name="dir"/> may have changed on <c>main</c>.</summary>
    public bool MayHaveChanged(string dir) =>
        Paths is null || Paths.Any(p => p == dir || p.StartsWith(dir + "/", StringComparison.Ordinal));
}

/// <summary>The operator's secrets changed: the whole list of names and dates (never a value).</summary>
public sealed record SecretsChanged(IReadOnlyList<SecretView> Secrets) : IDashboardEvent<SecretsChangedPayload>
{
    public string EventType => "secrets_changed";
    public SecretsChangedPayload Payload => new(Secrets);
}

/// <summary>
/// A running agent's usage moved by more than <see cref="AgentUsageLoop"/>'s thresholds since it was last told: memory in
/// MiB, CPU in percent of one core over the last window, processes. Not raised while nothing changes.
/// </summary>
public sealed record AgentUsageChanged(string Agent, Runtime.AgentUsage Usage) : IDashboardEvent<AgentUsagePayload>
{
    public string EventType => "agent_usage";
    public AgentUsagePayload Payload => new(Agent, Usage.MemoryMib, Usage.CpuPercent, Usage.Pids);
}
