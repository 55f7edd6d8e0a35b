using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The operator ends a running turn (<c>POST /api/governance/turns/{id}/end</c>): its harness is told at once and stops its
/// command, its messages come back flagged, and the slot goes to the next in line; one intervention, in the same change.
/// </summary>
public static class EndTurnByHand
{
    public sealed record Command(long TurnId, Actor By, string? Reason = null) : IRequest<GovernanceView>, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, TimeProvider clock) : IRequestHandler<Command, GovernanceView>
    {
        public async Task<GovernanceView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var agent = change.QuerySingleOrDefault<string>("SELECT agent FROM governed_turns WHERE id = @TurnId", command)
                ?? throw new NotFoundException($"no turn {command.TurnId}");
            if (!await mediator.Send(new EndTurn.Command(command.TurnId, TurnEndReasons.EndedByOperator), CancellationToken.None))
                throw new ConflictException($"turn {command.TurnId} has ended already");
            Interventions.Record(change, clock.GetUtcNow(), command.By, InterventionActions.EndTurn, agent, command.Reason,
                new { turn_id = command.TurnId, running = true }, new { turn_id = command.TurnId, running = false });
            return await mediator.Send(new ReadGovernance.Query(), cancellationToken);
        }
    }
}
