using System.Reflection;

namespace Hive.Contracts.Protocol;

/// <summary>The agent socket protocol: every verb this assembly declares (a public static field of a verbs class), by name.</summary>
public static class AgentProtocol
{
    public static IReadOnlyList<SocketVerb> Verbs { get; } = typeof(AgentProtocol).Assembly.GetTypes()
        .Where(t => t is { IsAbstract: true, IsSealed: true, IsPublic: true })
        .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
        .Where(f => typeof(SocketVerb).IsAssignableFrom(f.FieldType))
        .Select(f => (SocketVerb)f.GetValue(null)!)
        .OrderBy(v => v.Name, StringComparer.Ordinal)
        .ToList();

    public static SocketVerb? Find(string name) => Verbs.FirstOrDefault(v => v.Name == name);
}
