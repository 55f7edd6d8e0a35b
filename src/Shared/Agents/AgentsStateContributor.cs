using Hive.Shared.Dashboard;

namespace Hive.Shared.Agents;

/// <summary>The snapshot's <c>agents</c> section: one row per agent; later features add fields to the rows.</summary>
public sealed class AgentsStateContributor(IAgentDirectory agents) : IDashboardStateContributor
{
    public Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        state.Set("agents", agents.List().Select(a => new Dictionary<string, object?>
        {
            ["name"] = a.Name,
            ["kind"] = a.Kind,
            ["state_dir"] = a.StateDir,
        }).ToList());
        return Task.CompletedTask;
    }
}
