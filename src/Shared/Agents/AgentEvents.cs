using Hive.Shared.Dashboard;

namespace Hive.Shared.Agents;

/// <summary>An agent joined the directory; carries its row exactly as <c>/api/state</c> shows it.</summary>
public sealed record AgentAdded(AgentRow Agent) : IDashboardEvent
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
