using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Budgets;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// A parent hands a child a share of its monthly cost budget. What it has left to hand is its cap in force less what it
/// spent this month and the monthly caps of the children it has alive (their shares, spoken for); a parent with no
/// monthly cost cap may hand any share. The share becomes the child's monthly cost cap (its other caps stay as they
/// were), and the child's turns are held once it has spent it, as any agent's at its cap; the parent's own turns go on.
/// </summary>
public static class ShareBudget
{
    internal sealed class Check(GovernanceState state, TimeProvider clock) : IBudgetShares
    {
        /// <summary>Half a cent: figures shown in cents that look equal are equal.</summary>
        private const double Slack = 0.005;

        public string? ProblemWithShare(string parent, IReadOnlyList<string> children, double usd)
        {
            var now = clock.GetUtcNow();
            if (state.Budgets.CapOf(parent, Metrics.MonthlyUsd, now) is not { } cap) return null;
            var handed = children.Sum(child => state.Budgets.CapsOf(child).MonthlyUsd ?? 0);
            var left = Math.Max(0, cap - state.Budgets.AmountOf(parent, Metrics.MonthlyUsd, now) - handed);
            return usd <= left + Slack ? null
                : $"a budget of {Metrics.Show(Metrics.MonthlyUsd, usd)} is more than {parent}'s remaining budget this month " +
                  $"({Metrics.Show(Metrics.MonthlyUsd, left)} of {Metrics.Show(Metrics.MonthlyUsd, cap)})";
        }
    }

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, TimeProvider clock)
        : IRequestHandler<GrantBudgetShare>
    {
        public async Task<Unit> Handle(GrantBudgetShare command, CancellationToken cancellationToken)
        {
            if (BudgetShares.Problem(command.Usd) is { } problem) throw new Hive.Shared.Errors.BadRequestException(problem);
            var change = changes.Current;
            SetBudget.Apply(change, state, command.Child, state.Budgets.CapsOf(command.Child) with { MonthlyUsd = command.Usd },
                command.By ?? Actor.Agent(command.Parent), $"a share of {command.Parent}'s budget", clock.GetUtcNow());
            await rows.RaiseAsync(change, a => a.Name == command.Child);
            change.AfterPublished(admission.Pump);
            return Unit.Value;
        }
    }
}
