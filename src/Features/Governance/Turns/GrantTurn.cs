using Hive.Contracts.Governance;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The step that makes a reserved slot a turn: its row, its <c>turn_granted</c>, and the allowances its reservation took
/// ("allow one more turn" through a reached cap) written down as used, all in one change.
/// </summary>
internal static class GrantTurn
{
    /// <returns>The turn's id; null when a hold came between the reservation and now (a halt, a pause): no turn.</returns>
    public sealed record Command(Admission.Slot Slot) : IRequest<long?>, IChangesState;

    internal sealed class Handler(StateChanges changes, Admission admission) : IRequestHandler<Command, long?>
    {
        public Task<long?> Handle(Command command, CancellationToken cancellationToken)
        {
            var slot = command.Slot;
            // Looked at in this change, after any halt, pause or circuit that committed first (a halt's revoke would miss this
            // turn). A budget is left as the reservation found it: the allowance it took already shows as used.
            if (slot.Stop is not null || admission.HoldOf(slot.Agent, slot.Provider) is { Reason: not HoldReasons.Budget })
                return Task.FromResult<long?>(null);
            var change = changes.Current;
            var waited = (long)Math.Max(0, (slot.GrantedAt - slot.WaitingSince).TotalMilliseconds);
            var id = change.QuerySingle<long>("""
                INSERT INTO governed_turns (agent, provider, operator_wake, waited_ms, granted_at)
                VALUES (@Agent, @Provider, @OperatorWake, @waited, @GrantedAt)
                RETURNING id
                """, new { slot.Agent, slot.Provider, slot.OperatorWake, waited, slot.GrantedAt });
            foreach (var scope in slot.Allowances)
            {
                change.Execute("UPDATE budget_allowances SET turns = turns - 1 WHERE scope = @scope", new { scope });
                change.Execute("DELETE FROM budget_allowances WHERE scope = @scope AND turns <= 0", new { scope });
            }
            change.Raise(new TurnGranted(new GrantedTurn(id, slot.Agent, slot.Provider, slot.GrantedAt, slot.OperatorWake, waited)));
            admission.Granted(slot, id);
            change.OnRolledBack(() => slot.TurnId = 0);
            return Task.FromResult<long?>(id);
        }
    }
}
