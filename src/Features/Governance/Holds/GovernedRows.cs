using Hive.Shared.Agents;
using Hive.Shared.Changes;

namespace Hive.Features.Governance;

/// <summary>Raises the rows whose <c>held</c> a governance change altered, as they are now (the state in memory changed first).</summary>
internal sealed class GovernedRows(IAgentDirectory directory, AgentRows rows)
{
    public async Task RaiseAsync(StateChange change, Func<AgentInfo, bool> which)
    {
        var agents = directory.List().Where(which).ToList();
        if (agents.Count == 0) return;
        foreach (var row in await rows.BuildAsync(agents, CancellationToken.None)) change.Raise(new AgentRowChanged(row));
    }
}
