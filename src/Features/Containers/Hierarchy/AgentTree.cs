using Hive.Shared.Agents;

namespace Hive.Features.Containers;

/// <summary>
/// The agents as a tree, read from the registry: each agent's parent (null: the top level, the manager's), its live
/// children, its depth and its subtree. The one place a parent link is checked (it names an agent; it makes no cycle).
/// </summary>
internal static class AgentTree
{
    /// <summary>A walk up never goes further than this (deeper than any may_spawn allows, so only a corrupt registry reaches it).</summary>
    private const int MaxWalk = 64;

    /// <summary>Why <paramref name="parent"/> cannot be <paramref name="agent"/>'s parent, or null.</summary>
    public static string? ParentProblem(AgentRegistry registry, string agent, string? parent)
    {
        if (parent is null || parent == AgentNames.Manager) return null;
        if (parent == agent) return $"parent: a cycle ({agent} cannot be its own parent)";
        if (registry.Find(parent) is null) return $"parent: no agent named {parent}";
        var chain = new List<string> { parent };
        for (var at = registry.Find(parent)?.Parent; at is not null && chain.Count < MaxWalk; at = registry.Find(at)?.Parent)
        {
            chain.Add(at);
            if (at == agent) return $"parent: a cycle ({string.Join(" → ", chain.Prepend(agent))})";
        }
        return null;
    }

    /// <summary>How many levels below the top <paramref name="agent"/> is (a top-level agent: 1).</summary>
    public static int DepthOf(AgentRegistry registry, string agent)
    {
        var depth = 1;
        for (var at = registry.Find(agent)?.Parent; at is not null && depth < MaxWalk; at = registry.Find(at)?.Parent) depth++;
        return depth;
    }

    /// <summary>The agents directly under <paramref name="agent"/>.</summary>
    public static IReadOnlyList<AgentRecord> ChildrenOf(AgentRegistry registry, string agent) =>
        registry.All().Where(r => r.Parent == agent).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();

    /// <summary>Everything under <paramref name="agent"/>, deepest first (the order a subtree is taken down in).</summary>
    public static IReadOnlyList<AgentRecord> SubtreeOf(AgentRegistry registry, string agent)
    {
        var below = new List<AgentRecord>();
        var level = ChildrenOf(registry, agent).ToList();
        for (var depth = 0; level.Count > 0 && depth < MaxWalk; depth++)
        {
            below.InsertRange(0, level);
            level = level.SelectMany(c => ChildrenOf(registry, c.Name)).ToList();
        }
        return below;
    }
}
