using Hive.Shared.Dashboard;

namespace Hive.Shared.Agents;

/// <summary>The snapshot's <c>agents</c> section: one <see cref="AgentRow"/> per agent, every feature's facts included.</summary>
public sealed class AgentsStateContributor(IAgentDirectory agents, AgentRows rows) : IDashboardStateContributor
{
    private IReadOnlyList<AgentInfo>? _agents;

    /// <summary>The directory is in memory: its list is taken under the gate, with <c>seq</c>.</summary>
    public void Capture() => _agents = agents.List();

    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken) =>
        state.Set("agents", await rows.BuildAsync(_agents ?? agents.List(), cancellationToken));
}
