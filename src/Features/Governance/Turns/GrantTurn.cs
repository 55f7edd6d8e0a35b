using Hive.Contracts.Governance;
using Hive.Shared.Changes;
using Hive.Shared.Gateway;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The step that makes a reserved slot a turn: its row, its <c>turn_granted</c>, and the allowances its reservation took
/// ("allow one more turn" through a reached cap) written down as used, all in one change. A turn of an agent with a provider
/// chain that runs on another provider than its last turn did is a switch, recorded in the same change, and carries the
/// handoff its harness starts a fresh conversation with (the gateway's brief of the work on the provider it leaves).
/// </summary>
internal static class GrantTurn
{
    /// <returns>The turn's id; null when a hold came between the reservation and now (a halt, a pause): no turn.</returns>
    public sealed record Command(Admission.Slot Slot) : IRequest<long?>, IChangesState;

    internal sealed class Handler(StateChanges changes, Admission admission, ProviderRoutes routes, GovernedRows rows, IHandoffBriefs briefs, TimeProvider clock)
        : IRequestHandler<Command, long?>
    {
        public async Task<long?> Handle(Command command, CancellationToken cancellationToken)
        {
            var slot = command.Slot;
            // Looked at in this change, after any halt, pause or circuit that committed first (a halt's revoke would miss this
            // turn). A budget is left as the reservation found it: the allowance it took already shows as used.
            if (slot.Stop is not null || admission.HoldOf(slot.Agent, slot.Provider) is { Reason: not HoldReasons.Budget })
                return null;
            var change = changes.Current;
            var previous = change.QuerySingleOrDefault<string?>(
                "SELECT provider FROM governed_turns WHERE agent = @Agent ORDER BY id DESC LIMIT 1", new { slot.Agent });
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
            if (slot.Chain.Count > 1 && previous is not null && previous != slot.Provider)
            {
                var reason = routes.Choose(slot.Agent, slot.Chain, clock.GetUtcNow()).Why ?? $"{slot.Provider} is free again";
                await routes.RecordAsync(change, rows, slot.Agent, id, previous, slot.Provider, reason);
                slot.Handoff = new Handoff(previous, slot.Provider, reason, HandoffText(slot.Agent, previous, slot.Provider, reason, briefs.BriefOf(slot.Agent, previous)));
                change.OnRolledBack(() => slot.Handoff = null);
            }
            return id;
        }
    }

    /// <summary>What the agent reads first on the new provider: where it is and why, then the gateway's brief (or that there is none).</summary>
    private static string HandoffText(string agent, string from, string to, string reason, string? brief) =>
        $"Handoff from the hive: {agent}'s turns moved from {from} to {to} ({reason}). This is a fresh conversation: the model " +
        $"that wrote the earlier one is not here, and nothing of it was sent. " +
        (brief ?? $"The hive saw no calls of yours on {from} since it started, so it has no record of them: look at your workspace and messages for where you were.");
}
