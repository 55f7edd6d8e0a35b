using FluentValidation;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Validation;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// The operator stops all work at once, keeping every piece of state: no turn is granted, running turns are told to stop
/// within the stop grace (then ended by the host), no message is handed out, no agent is restarted by policy. It holds
/// across a restart of the host until <see cref="ResumeHive"/>. Halting a halted hive changes nothing.
/// </summary>
public static class HaltHive
{
    public const int MaxReasonBytes = 500;

    public sealed record Command(Actor By, string? Reason) : IRequest<GovernanceView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Reason).BoundedText("reason", MaxReasonBytes).When(c => c.Reason is not null);
    }

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, IMediator mediator,
        IOptions<StopGraceOptions> grace, TimeProvider clock) : IRequestHandler<Command, GovernanceView>
    {
        public async Task<GovernanceView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            if (state.Halt is null)
            {
                var now = clock.GetUtcNow();
                var halt = new GovernanceState.HaltRecord(command.By.Name, now, command.Reason);
                change.Execute("INSERT INTO hive_halt (id, halted_by, halted_at, reason) VALUES (1, @By, @Since, @Reason)", halt);
                Interventions.Record(change, now, command.By, InterventionActions.Halt, null, command.Reason, new { halted = false }, new { halted = true });
                state.SetHalt(halt);
                change.OnRolledBack(() => state.SetHalt(null));
                change.Raise(new HiveHalted(halt.By, halt.Since, halt.Reason));
                await rows.RaiseAsync(change, _ => true);
                change.AfterPublished(() => admission.Revoke(_ => true, HoldReasons.Halted, clock.GetUtcNow() + grace.Value.StopGrace));
            }
            return await mediator.Send(new ReadGovernance.Query(), cancellationToken);
        }
    }
}
