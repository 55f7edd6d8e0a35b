using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Gateway;

namespace Hive.Features.Containers;

/// <summary>
/// How an agent row's model calls go (<c>model_calls</c>): <c>"gateway"</c> when its driver puts the hive's
/// forwarding port in front of it, so the host meters every call; <c>"not_metered"</c> when it has a gateway but its own
/// configuration (its env or secrets, which the operator approved) sets the base URL or key variable, so it reaches its
/// model as configured and the host never sees its calls; null when it has no gateway, or when its driver does not run
/// it behind one (external, nixos-container). Read from its configuration, so a stopped agent says what its next start does.
/// </summary>
public sealed record ModelCallFacts(string? ModelCalls);

internal sealed class ModelCallFactsOnAgentRows(AgentRegistry registry, DriverCatalog drivers, IAgentGateways gateways) : AgentRowContributor<ModelCallFacts>
{
    protected override Task<IReadOnlyDictionary<string, ModelCallFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        var facts = new Dictionary<string, ModelCallFacts>(StringComparer.Ordinal);
        foreach (var agent in agents)
        {
            var record = registry.Find(agent.Name);
            facts[agent.Name] = new ModelCallFacts(record is not null && drivers.Find(record.Driver) is ProcessDriverBase
                ? AgentGateway.RouteOf(AgentGateway.Of(gateways, record.Name, record.Provider, record.Env.Keys.Concat(record.Secrets?.Keys ?? [])))
                : null);
        }
        return Task.FromResult<IReadOnlyDictionary<string, ModelCallFacts>>(facts);
    }
}
