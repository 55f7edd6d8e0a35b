using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// A turn has run <c>StallMinutes</c>: its agent gets a system message from <c>hive</c> (kind <c>nudge</c>) saying so and
/// what comes next, recorded as the stall rule's intervention in the same change.
/// </summary>
internal static class NudgeStalledTurn
{
    public const string Kind = "nudge";

    public sealed record Command(long TurnId) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, Admission admission, IMediator mediator, IOptions<GovernanceOptions> options, TimeProvider clock)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            if (admission.Find(command.TurnId) is not { Stall: Admission.StallStage.None, Stop: null } slot) return Unit.Value;
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var running = WatchdogRules.Show(now - slot.GrantedAt);
            var rest = WatchdogRules.Show(TimeSpan.FromMinutes(options.Value.StallMinutes));
            await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, slot.Agent, Kind,
                $"Your turn {slot.TurnId} has run {running}. If it is stuck, or waiting for something that will not come, end it now. " +
                $"If it has not ended in {rest} more, you will be paused and the operator asked what to do.",
                new Dictionary<string, object?> { ["turn_id"] = slot.TurnId })]), CancellationToken.None);
            Interventions.Record(change, now, Actor.Rule(WatchdogRules.Stall), InterventionActions.Nudge, slot.Agent,
                $"turn {slot.TurnId} has run {running}", new { turn_id = slot.TurnId, nudged = false }, new { turn_id = slot.TurnId, nudged = true });
            slot.Stall = Admission.StallStage.Nudged;
            change.OnRolledBack(() => slot.Stall = Admission.StallStage.None);
            return Unit.Value;
        }
    }
}
