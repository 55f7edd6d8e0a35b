namespace Hive.Shared.Agents;

/// <summary>
/// The agents' parent links. Declared here because Governance sums a subtree's spend while the links are the registry's,
/// in Containers (it implements it); with no implementation, every agent is at the top level.
/// </summary>
public interface IAgentTree
{
    /// <summary>Each live agent's parent, for the agents that have one, as the registry holds them now (in the caller's change, when there is one).</summary>
    IReadOnlyDictionary<string, string> Parents();
}

/// <summary>No parents: the tree until a feature that keeps the agents provides one.</summary>
public sealed class FlatAgentTree : IAgentTree
{
    public IReadOnlyDictionary<string, string> Parents() => new Dictionary<string, string>();
}

/// <summary>Walks over a set of parent links, each bounded (a cycle is refused when a link is set, but a walk never trusts that).</summary>
public static class AgentLineage
{
    private const int MaxWalk = 64;

    /// <summary><paramref name="agent"/>'s parent, its parent's parent, and so on to the top.</summary>
    public static IReadOnlyList<string> AncestorsOf(IReadOnlyDictionary<string, string> parents, string agent)
    {
        var up = new List<string>();
        for (var at = agent; up.Count < MaxWalk && parents.TryGetValue(at, out var parent) && parent != agent; at = parent) up.Add(parent);
        return up;
    }

    /// <summary>Everything under <paramref name="agent"/>, level by level.</summary>
    public static IReadOnlyList<string> DescendantsOf(IReadOnlyDictionary<string, string> parents, string agent)
    {
        var below = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { agent };
        var level = new List<string> { agent };
        for (var depth = 0; level.Count > 0 && depth < MaxWalk; depth++)
        {
            level = parents.Where(p => level.Contains(p.Value, StringComparer.Ordinal) && seen.Add(p.Key)).Select(p => p.Key).ToList();
            below.AddRange(level);
        }
        return below;
    }
}
