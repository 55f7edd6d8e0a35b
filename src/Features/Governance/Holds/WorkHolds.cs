using Hive.Shared.Agents;

namespace Hive.Features.Governance;

/// <summary>The halt and the pauses, as the features below see them (<c>recv</c> hands nothing out, no restart by policy).</summary>
internal sealed class WorkHolds(GovernanceState state) : IWorkHolds
{
    public string? HeldFor(string agent) => state.WorkHeldFor(agent);

    public async Task WhenFreeAsync(string agent, CancellationToken cancellationToken)
    {
        while (true)
        {
            var release = state.NextRelease; // taken before the look, so a resume in between still wakes us
            if (state.WorkHeldFor(agent) is null) return;
            await release.WaitAsync(cancellationToken);
        }
    }
}
