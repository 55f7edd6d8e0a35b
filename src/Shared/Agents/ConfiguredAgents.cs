namespace Hive.Shared.Agents;

/// <summary>
/// The agents the hive starts with until the Containers feature owns the registry: the names in <c>Hive:Agents</c>
/// plus the always-present manager. They seed the <see cref="AgentDirectory"/>, which can change at run time.
/// </summary>
public static class ConfiguredAgents
{
    public static IReadOnlyList<AgentInfo> Read(HiveOptions options, HivePaths paths)
    {
        var agents = new List<AgentInfo> { new(AgentNames.Manager, AgentKinds.Manager, paths.AgentStateDir(AgentNames.Manager)) };
        foreach (var name in options.Agents.Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.Ordinal))
        {
            if (!AgentNames.IsWellFormed(name))
                throw new InvalidOperationException($"Hive:Agents: '{name}' is not a valid agent name (^[a-z][a-z0-9-]{{0,30}}$)");
            if (name == AgentNames.Manager) continue;
            if (AgentNames.Reserved.Contains(name))
                throw new InvalidOperationException($"Hive:Agents: '{name}' is reserved");
            agents.Add(new AgentInfo(name, AgentKinds.Agent, paths.AgentStateDir(name)));
        }
        return agents;
    }
}
