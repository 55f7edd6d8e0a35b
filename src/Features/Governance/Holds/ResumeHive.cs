using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>The operator lifts a halt: turns are granted again through the queue (no stampede), held <c>recv</c>s wake. Paused agents stay paused.</summary>
public static class ResumeHive
{
    public sealed record Command(Actor By, string? Reason = null) : IRequest<GovernanceView>, IChangesState;

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, IMediator mediator, TimeProvider clock)
        : IRequestHandler<Command, GovernanceView>
    {
        public async Task<GovernanceView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            if (state.Halt is { } halt)
            {
                var now = clock.GetUtcNow();
                // A lower authority does not lift a higher one's halt (the manager cannot lift the operator's).
                if (Interventions.LatestInForce(change, InterventionActions.Halt, null) is { } halted && halted.Authority > command.By.Authority)
                    throw new ForbiddenException($"the halt was {halted.Actor}'s ({Authority.Name((int)halted.Authority)}); {command.By.Name} cannot lift it");
                change.Execute("DELETE FROM hive_halt");
                Interventions.Record(change, now, command.By, InterventionActions.ResumeHive, null, command.Reason,
                    new { halted = true, halted_by = halt.By, halted_at = halt.Since }, new { halted = false });
                state.SetHalt(null);
                change.OnRolledBack(() => state.SetHalt(halt));
                change.Raise(new HiveResumed(command.By.Name, now));
                await rows.RaiseAsync(change, _ => true);
                change.AfterPublished(() =>
                {
                    state.Release();
                    admission.Pump();
                });
            }
            return await mediator.Send(new ReadGovernance.Query(), cancellationToken);
        }
    }
}
