using System.Collections.Concurrent;
using Hive.Shared.Agents;

namespace Hive.Features.Containers;

/// <summary>
/// Each agent's <c>allowed_recipients</c>, held in memory for the send path (a registry read per send would cost the
/// broker), set from the registry at start-up and whenever a registration or a configuration writes it. A name with no
/// list (or none recorded) may reach anyone.
/// </summary>
internal sealed class AllowedRecipients : IRecipientPolicy
{
    private readonly ConcurrentDictionary<string, IReadOnlySet<string>> _lists = new(StringComparer.Ordinal);

    public void Set(string agent, IReadOnlyList<string>? recipients)
    {
        if (recipients is null) _lists.TryRemove(agent, out _);
        else _lists[agent] = new HashSet<string>(recipients, StringComparer.Ordinal);
    }

    public bool MayReach(string from, string to) =>
        to is AgentNames.Operator or AgentNames.Manager || !_lists.TryGetValue(from, out var list) || list.Contains(to);
}
