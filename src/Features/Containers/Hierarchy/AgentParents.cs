using Dapper;
using Hive.Shared.Agents;

namespace Hive.Features.Containers;

/// <summary>The parent links Governance sums a subtree's spend over, read from the registry (so a destroyed child is gone from them).</summary>
internal sealed class AgentParents(AgentRegistry registry) : IAgentTree
{
    public IReadOnlyDictionary<string, string> Parents() => registry.Read((c, t) =>
        c.Query<(string Name, string Parent)>("SELECT name, parent FROM agents WHERE parent IS NOT NULL", transaction: t)
            .ToDictionary(r => r.Name, r => r.Parent, StringComparer.Ordinal));
}
