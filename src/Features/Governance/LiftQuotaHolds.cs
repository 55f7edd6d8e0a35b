using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The governance clock's end of the holds agents' own quota reports put on them (<see cref="OpenQuotaCircuit"/>): a hold
/// whose <c>until</c> has come is deleted, so the table keeps only holds that still hold and no stale one is shown. Its
/// agent's row and the dashboard learn it (<c>agent_quota_held</c> with <c>until</c> null).
/// </summary>
internal static class LiftQuotaHolds
{
    public sealed record Command : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, TimeProvider clock)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var ended = state.EndedQuotaHolds(clock.GetUtcNow());
            if (ended.Count == 0) return Unit.Value;
            foreach (var hold in ended)
            {
                change.Execute("DELETE FROM agent_quota_holds WHERE agent = @Agent", hold);
                state.ClearQuotaHold(hold.Agent);
                change.OnRolledBack(() => state.SetQuotaHold(hold));
                change.Raise(new AgentQuotaHeld(hold.Agent, hold.Provider, null));
            }
            await rows.RaiseAsync(change, a => ended.Any(h => h.Agent == a.Name));
            change.AfterPublished(admission.Pump);
            return Unit.Value;
        }
    }
}
