using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>The operator lifts a halt: turns are granted again through the queue (no stampede), held <c>recv</c>s wake. Paused agents stay paused.</summary>
public static class ResumeHive
{
    public sealed record Command(string By) : IRequest<GovernanceView>, IChangesState;

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, IMediator mediator, TimeProvider clock)
        : IRequestHandler<Command, GovernanceView>
    {
        public async Task<GovernanceView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            if (state.Halt is { } halt)
            {
                var now = clock.GetUtcNow();
                change.Execute("DELETE FROM hive_halt");
                Audit.Write(change, now, command.By, "resume", null, new { halted_by = halt.By, halted_at = halt.Since });
                state.SetHalt(null);
                change.OnRolledBack(() => state.SetHalt(halt));
                change.Raise(new HiveResumed(command.By, now));
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
