using Hive.Shared.Dashboard;

namespace Hive.Shared.Agents;

/// <summary>The snapshot's <c>agents</c> section: one <see cref="AgentRow"/> per agent, every feature's facts included.</summary>
public sealed class AgentsStateContributor(IAgentDirectory agents, AgentRows rows) : IDashboardStateContributor
{
    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken) =>
        state.Set("agents", await rows.BuildAsync(agents.List(), cancellationToken));
}
