namespace Hive.Shared.Agents;

public sealed record AgentInfo(string Name, string Kind, string StateDir);

/// <summary>
/// Who the live agents are. Declared here because features low in the graph (Messages) must know whether a recipient
/// exists, while the registry itself belongs higher up (Containers, once it lands).
/// </summary>
public interface IAgentDirectory
{
    bool IsAgent(string name);
    IReadOnlyList<AgentInfo> List();
}

public static class AgentKinds
{
    public const string Manager = "manager";
    public const string Agent = "agent";
}
