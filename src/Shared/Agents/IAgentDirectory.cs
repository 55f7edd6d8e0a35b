namespace Hive.Shared.Agents;

public sealed record AgentInfo(string Name, string Kind, string StateDir);

/// <summary>
/// Who the live agents are. Declared here because features low in the graph (Messages) must know whether a recipient
/// exists, while the registry itself belongs higher up (Containers, once it lands). The set changes at run time:
/// <see cref="Subscribe"/> follows it.
/// </summary>
public interface IAgentDirectory
{
    bool IsAgent(string name);

    /// <summary>The agents now: the manager first, then by name.</summary>
    IReadOnlyList<AgentInfo> List();

    /// <summary>
    /// Follows the directory: the subscription carries the agents as they are at this moment
    /// (<see cref="AgentSubscription.Agents"/>), and <paramref name="onChange"/> is called for every later addition or
    /// removal, so an agent added between the list and the first call cannot be missed or seen twice. Calls come one at
    /// a time, in the order of the changes, from inside the change (before <c>AddAsync</c>/<c>RemoveAsync</c> return):
    /// keep them short, and never change the directory from one. Dispose the subscription to stop.
    /// </summary>
    AgentSubscription Subscribe(Action<AgentChange> onChange);
}

/// <summary>
/// Where the directory's starting set comes from: the registry, which lives higher up (Containers). Read once at
/// start-up, after the migrations and before anything subscribes.
/// </summary>
public interface IAgentDirectorySeed
{
    IReadOnlyList<AgentInfo> ReadAtStartUp();
}

public static class AgentKinds
{
    public const string Manager = "manager";
    public const string Agent = "agent";
}

public enum AgentChangeKind
{
    Added,
    Removed,
}

/// <summary>One agent added to or removed from the directory.</summary>
public sealed record AgentChange(AgentChangeKind Kind, AgentInfo Agent);

/// <summary>A subscriber's starting point (<see cref="Agents"/>) and its ticket: dispose it to stop the calls.</summary>
public sealed class AgentSubscription(IReadOnlyList<AgentInfo> agents, Action unsubscribe) : IDisposable
{
    private Action? _unsubscribe = unsubscribe;

    /// <summary>The agents at the moment of subscribing; every change after it reaches the callback.</summary>
    public IReadOnlyList<AgentInfo> Agents { get; } = agents;

    public void Dispose() => Interlocked.Exchange(ref _unsubscribe, null)?.Invoke();
}
