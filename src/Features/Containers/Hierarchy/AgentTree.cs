using Hive.Shared.Agents;

namespace Hive.Features.Containers;

/// <summary>
/// The agents as a tree, read from the registry: each agent's parent (null: the top level, the manager's), its children
/// and its subtree, walked with the kernel's <see cref="AgentLineage"/> over the registry's parent links
/// (<see cref="AgentParents"/>). The one place a parent link is checked (it names an agent; it makes no cycle).
/// </summary>
internal static class AgentTree
{
    /// <summary>Why <paramref name="parent"/> cannot be <paramref name="agent"/>'s parent, or null.</summary>
    public static string? ParentProblem(AgentRegistry registry, string agent, string? parent)
    {
        if (parent is null || parent == AgentNames.Manager) return null;
        if (parent == agent) return $"parent: a cycle ({agent} cannot be its own parent)";
        if (registry.Find(parent) is null) return $"parent: no agent named {parent}";
        var above = AgentLineage.AncestorsOf(new AgentParents(registry).Parents(), parent);
        var at = above.ToList().IndexOf(agent);
        return at < 0 ? null : $"parent: a cycle ({string.Join(" → ", above.Take(at + 1).Prepend(parent).Prepend(agent))})";
    }

    /// <summary>The agents directly under <paramref name="agent"/>, by name.</summary>
    public static IReadOnlyList<AgentRecord> ChildrenOf(AgentRegistry registry, string agent) =>
        registry.All().Where(r => r.Parent == agent).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();

    /// <summary>Everything under <paramref name="agent"/>, deepest first (the order a subtree is taken down in).</summary>
    public static IReadOnlyList<AgentRecord> SubtreeOf(AgentRegistry registry, string agent) =>
        AgentLineage.DescendantsOf(new AgentParents(registry).Parents(), agent).Reverse().Select(registry.Find).OfType<AgentRecord>().ToList();
}
