using Microsoft.Extensions.Options;

namespace Hive.Shared.Agents;

/// <summary>
/// The minimal registry until the Containers feature takes over: the names in <c>Hive:Agents</c> plus the
/// always-present manager, fixed for the life of the process.
/// </summary>
public sealed class ConfiguredAgentDirectory : IAgentDirectory
{
    private readonly Dictionary<string, AgentInfo> _agents = new(StringComparer.Ordinal);

    public ConfiguredAgentDirectory(IOptions<HiveOptions> options, HivePaths paths)
    {
        Add(AgentNames.Manager, AgentKinds.Manager);
        foreach (var name in options.Value.Agents.Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.Ordinal))
        {
            if (!AgentNames.IsWellFormed(name))
                throw new InvalidOperationException($"Hive:Agents: '{name}' is not a valid agent name (^[a-z][a-z0-9-]{{0,30}}$)");
            if (name == AgentNames.Manager) continue;
            if (AgentNames.Reserved.Contains(name))
                throw new InvalidOperationException($"Hive:Agents: '{name}' is reserved");
            Add(name, AgentKinds.Agent);
        }

        void Add(string name, string kind) => _agents[name] = new AgentInfo(name, kind, paths.AgentStateDir(name));
    }

    public bool IsAgent(string name) => _agents.ContainsKey(name);

    public IReadOnlyList<AgentInfo> List() => _agents.Values.OrderBy(a => a.Kind == AgentKinds.Manager ? 0 : 1).ThenBy(a => a.Name, StringComparer.Ordinal).ToList();
}
