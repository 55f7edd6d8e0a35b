using Hive.Contracts.Agents;
using Hive.Shared.Dashboard;

namespace Hive.Shared.Agents;

/// <summary>
/// An agent's row changed: it joined the directory, or a feature changed what its row shows (Containers: its state,
/// transient, pid, last exit). The whole row, exactly as <c>/api/state</c> shows it; the one owner of the wire event
/// <c>container_state_changed</c>.
/// </summary>
public sealed record AgentRowChanged(AgentRow Agent) : IDashboardEvent<AgentRowPayload>
{
    public string EventType => "container_state_changed";
    public AgentRowPayload Payload => new(Agent);
}

/// <summary>
/// <c>container_state_changed</c>'s payload. Declared here, not in Hive.Contracts: a row is composed at run time from
/// every slice's facts (<see cref="AgentRow"/>), so it has no record of its own.
/// </summary>
public sealed record AgentRowPayload(AgentRow Agent);

/// <summary>An agent left the directory: its socket is gone; its state dir and its history stay.</summary>
public sealed record AgentRemoved(string Name) : IDashboardEvent<AgentRemovedPayload>
{
    public string EventType => "container_removed";
    public AgentRemovedPayload Payload => new(Name);
}
