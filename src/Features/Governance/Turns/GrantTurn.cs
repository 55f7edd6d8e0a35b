using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The step that makes a reserved slot a turn: its row, its <c>turn_granted</c>, and, when a reached cap lets it through
/// only by an allowance the operator gave ("allow one more turn"), that allowance used up, all in one change.
/// </summary>
internal static class GrantTurn
{
    public sealed record Command(Admission.Slot Slot) : IRequest<long>, IChangesState;

    internal sealed class Handler(StateChanges changes, Admission admission, GovernanceState state, TimeProvider clock) : IRequestHandler<Command, long>
    {
        public Task<long> Handle(Command command, CancellationToken cancellationToken)
        {
            var slot = command.Slot;
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var waited = (long)Math.Max(0, (slot.GrantedAt - slot.WaitingSince).TotalMilliseconds);
            var id = change.QuerySingle<long>("""
                INSERT INTO governed_turns (agent, provider, operator_wake, waited_ms, granted_at)
                VALUES (@Agent, @Provider, @OperatorWake, @waited, @GrantedAt)
                RETURNING id
                """, new { slot.Agent, slot.Provider, slot.OperatorWake, waited, slot.GrantedAt });
            foreach (var scope in new[] { slot.Agent, Scopes.Hive })
            {
                var allowance = state.Budgets.AllowanceOf(scope);
                if (allowance <= 0 || state.Budgets.ReachedOf(scope, now) is null) continue;
                change.Execute("UPDATE budget_allowances SET turns = turns - 1 WHERE scope = @scope", new { scope });
                change.Execute("DELETE FROM budget_allowances WHERE scope = @scope AND turns <= 0", new { scope });
                state.Budgets.Allow(scope, allowance - 1);
                change.OnRolledBack(() => state.Budgets.Allow(scope, allowance));
            }
            change.Raise(new TurnGranted(new GrantedTurn(id, slot.Agent, slot.Provider, slot.GrantedAt, slot.OperatorWake, waited)));
            admission.Granted(slot, id);
            return Task.FromResult(id);
        }
    }
}
