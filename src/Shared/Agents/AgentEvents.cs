using Hive.Shared.Dashboard;

namespace Hive.Shared.Agents;

/// <summary>
/// An agent's row changed: it joined the directory, or a feature changed what its row shows (Containers: its state,
/// transient, pid, last exit). The whole row, exactly as <c>/api/state</c> shows it; the one owner of the wire event
/// <c>container_state_changed</c>.
/// </summary>
public sealed record AgentRowChanged(AgentRow Agent) : IDashboardEvent
{
    public string EventType => "container_state_changed";
    public object Payload => new { agent = Agent };
}

/// <summary>An agent left the directory: its socket is gone; its state dir and its history stay.</summary>
public sealed record AgentRemoved(string Name) : IDashboardEvent
{
    public string EventType => "container_removed";
    public object Payload => new { name = Name };
}
