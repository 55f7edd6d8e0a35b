using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// An agent row's caps and usage (snake_case on the wire). <c>limits</c> is <c>"off"</c> where the host cannot use
/// cgroups (it said why once at start), else the caps in force, <c>{memory_mib, cpu_percent, pids}</c> (a cap this host
/// cannot set is null); null for an agent the host does not run in a cgroup (external, nixos-container). <c>usage</c> is
/// <c>{memory_mib, cpu_percent, pids, at}</c> from the last look of the usage loop while the agent runs, else null.
/// </summary>
public sealed record ResourceFacts(object? Limits, AgentUsage? Usage);

/// <summary>The caps in force on an agent's cgroup; null for one this host cannot set.</summary>
public sealed record LimitsInForce(int? MemoryMib, int? CpuPercent, int? Pids);

/// <summary>Each row's <see cref="ResourceFacts"/>: from the registry's caps and the usage kept in memory.</summary>
internal sealed class ResourceFactsOnAgentRows(AgentRegistry registry, AgentCgroups cgroups, IOptions<ContainersOptions> options)
    : AgentRowContributor<ResourceFacts>
{
    public const string Off = "off";

    protected override Task<IReadOnlyDictionary<string, ResourceFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        var facts = new Dictionary<string, ResourceFacts>(StringComparer.Ordinal);
        foreach (var agent in agents)
        {
            var record = registry.Find(agent.Name);
            facts[agent.Name] = record is { InHostCgroup: true }
                ? new ResourceFacts(LimitsOf(record), cgroups.RunningOf(agent.Name)?.Usage?.View)
                : new ResourceFacts(null, null);
        }
        return Task.FromResult<IReadOnlyDictionary<string, ResourceFacts>>(facts);
    }

    private object LimitsOf(AgentRecord record)
    {
        if (!cgroups.LimitsOn) return Off;
        var caps = ResourceLimits.Resolve(options.Value.Limits, record.OwnLimits);
        return new LimitsInForce(
            cgroups.Can(CgroupTree.Memory) ? caps.MemoryMib : null, cgroups.Can(CgroupTree.Cpu) ? caps.CpuPercent : null,
            cgroups.Can(CgroupTree.Pids) ? caps.Pids : null);
    }
}
