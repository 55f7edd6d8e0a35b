using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The operator resumes one paused agent (a halt of the whole hive, if any, still holds it). An answer to the watchdog that
/// resumes records its own <c>Action</c> (<c>end_turn</c>, <c>extend_turn</c>): one intervention for the one decision.
/// </summary>
public static class ResumeAgent
{
    public sealed record Command(string Agent, Actor By, string? Reason = null, string Action = InterventionActions.Resume, bool Subtree = false)
        : IRequest<GovernanceView>, IChangesState;

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, IMediator mediator,
        IAgentDirectory directory, IAgentTree tree, TimeProvider clock) : IRequestHandler<Command, GovernanceView>
    {
        public async Task<GovernanceView> Handle(Command command, CancellationToken cancellationToken)
        {
            if (command.Subtree)
            {
                if (!directory.IsAgent(command.Agent)) throw new NotFoundException($"no agent named {command.Agent}");
                // Each one as its own resume would be, in this one change: a pause above the caller's authority refuses the whole.
                foreach (var name in AgentLineage.DescendantsOf(tree.Parents(), command.Agent).Prepend(command.Agent))
                    await Handle(command with { Agent = name, Subtree = false }, cancellationToken);
                return await mediator.Send(new ReadGovernance.Query(), cancellationToken);
            }
            var change = changes.Current;
            if (state.Paused.FirstOrDefault(p => p.Agent == command.Agent) is { } paused)
            {
                var now = clock.GetUtcNow();
                // A lower authority does not lift a higher one's pause (a rule cannot resume what the operator paused).
                if (Interventions.LatestInForce(change, InterventionActions.Pause, command.Agent) is { } pause && pause.Authority > command.By.Authority)
                    throw new ForbiddenException($"{command.Agent} was paused by {pause.Actor} ({Authority.Name((int)pause.Authority)}); {command.By.Name} cannot resume it");
                change.Execute("DELETE FROM paused_agents WHERE agent = @Agent", new { command.Agent });
                Interventions.Record(change, now, command.By, command.Action, command.Agent, command.Reason,
                    new { paused = true, paused_by = paused.By, paused_at = paused.Since }, new { paused = false });
                state.ClearPaused(command.Agent);
                change.OnRolledBack(() => state.SetPaused(paused));
                change.Raise(new AgentResumed(command.Agent, command.By.Name, now));
                await rows.RaiseAsync(change, a => a.Name == command.Agent);
                change.AfterPublished(() =>
                {
                    state.Release();
                    admission.Pump();
                });
            }
            else if (!directory.IsAgent(command.Agent)) throw new NotFoundException($"no agent named {command.Agent}");
            return await mediator.Send(new ReadGovernance.Query(), cancellationToken);
        }
    }
}
