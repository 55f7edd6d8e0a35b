using System.Collections.Concurrent;
using Hive.Shared.Agents;

namespace Hive.Features.Containers;

/// <summary>
/// Whom each agent may reach, held in memory for the send path (a registry read per send would cost the broker), set from
/// the registry at start-up and whenever a registration or a configuration writes it. Two rules, both the host's: an agent
/// spawned under another (a child) reaches only its own subtree, its parent and the operator; an agent with
/// <c>allowed_recipients</c> reaches only those, the operator and the manager. The manager reaches everyone.
/// </summary>
internal sealed class AllowedRecipients : IRecipientPolicy
{
    private readonly ConcurrentDictionary<string, IReadOnlySet<string>> _lists = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _parents = new(StringComparer.Ordinal);

    public void Set(string agent, IReadOnlyList<string>? recipients, string? parent = null)
    {
        if (recipients is null) _lists.TryRemove(agent, out _);
        else _lists[agent] = new HashSet<string>(recipients, StringComparer.Ordinal);
        if (parent is null) _parents.TryRemove(agent, out _);
        else _parents[agent] = parent;
    }

    public string? ParentOf(string agent) => _parents.GetValueOrDefault(agent);

    /// <summary>Whether <paramref name="agent"/> is <paramref name="ancestor"/> or below it.</summary>
    public bool IsInSubtree(string agent, string ancestor)
    {
        // Bounded: a cycle is refused when a parent is set, but a walk never trusts that.
        for (var (at, steps) = (agent, 0); steps <= 64; steps++)
        {
            if (at == ancestor) return true;
            if (ParentOf(at) is not { } up) return false;
            at = up;
        }
        return false;
    }

    public string? WhyNot(string from, string to)
    {
        if (to == AgentNames.Operator || from == AgentNames.Manager) return null;
        if (ParentOf(from) is { } parent && to != parent && !IsInSubtree(to, from))
            return $"{from} may not reach {Shorten(to)}: {from} was spawned under {parent} and reaches only its own subtree, {parent} and the operator";
        if (to == AgentNames.Manager || !_lists.TryGetValue(from, out var list) || list.Contains(to)) return null;
        return $"{from} may not reach {Shorten(to)}: it is not among its allowed_recipients";
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
