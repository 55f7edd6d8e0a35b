using Hive.Shared.Agents;
using Hive.Shared.Data;

namespace Hive.Features.Containers;

/// <summary>
/// What work an agent takes (<c>design</c>, <c>code</c>, <c>review</c>, ...): names shaped like an agent's, at most
/// <see cref="Max"/>, each once. The work layer offers a phase of a ticket to agents having the capability it needs
/// (<see cref="ListAgents.Query"/> with a capability).
/// </summary>
public static class Capabilities
{
    public const string Pattern = "^[a-z][a-z0-9-]{0,30}$";
    public const int Max = 16;

    /// <summary>The same shape as an agent's name.</summary>
    public static bool IsWellFormed(string? capability) => AgentNames.IsWellFormed(capability);

    /// <summary>Why <paramref name="capabilities"/> cannot be an agent's (null: they can; none is fine).</summary>
    public static string? Problem(IReadOnlyList<string?>? capabilities)
    {
        if (capabilities is null) return null;
        if (capabilities.Count > Max) return $"capabilities are at most {Max} names";
        foreach (var capability in capabilities)
            if (!IsWellFormed(capability)) return $"capability '{capability}' must match {Pattern}";
        if (capabilities.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            return $"capability '{twice.Key}' is given twice";
        return null;
    }

    /// <summary>The stored form: the names in the order given (checked already).</summary>
    internal static JsonList Stored(IReadOnlyList<string>? capabilities) => capabilities is null ? JsonList.Empty : new JsonList(capabilities);

    /// <summary>The meta file's form: left out (null) when there are none, so the files of agents without any read as before.</summary>
    internal static IReadOnlyList<string>? InFile(IReadOnlyList<string>? capabilities) => capabilities is { Count: > 0 } some ? some.ToList() : null;
}
