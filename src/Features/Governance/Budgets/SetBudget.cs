using FluentValidation;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The operator sets a scope's caps at run time (an agent, or <c>*</c> for the hive): they replace the configured ones
/// from now on (null: no cap of that kind), audited with what they replaced. A turn held by a cap now lifted is granted.
/// </summary>
public static class SetBudget
{
    public const double MaxUsd = Hive.Shared.Budgets.BudgetShares.MaxUsd;
    public const long MaxTokens = 1_000_000_000_000;

    public sealed record Command(string Scope, double? DailyUsd, double? MonthlyUsd, long? DailyTokens, long? MonthlyTokens, Actor By)
        : IRequest<BudgetView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            Usd(c => c.DailyUsd, Metrics.DailyUsd);
            Usd(c => c.MonthlyUsd, Metrics.MonthlyUsd);
            Tokens(c => c.DailyTokens, Metrics.DailyTokens);
            Tokens(c => c.MonthlyTokens, Metrics.MonthlyTokens);
        }

        private void Usd(System.Linq.Expressions.Expression<Func<Command, double?>> field, string name) =>
            RuleFor(field).Must(v => v is null || (double.IsFinite(v.Value) && v >= 0 && v <= MaxUsd))
                .WithName(name).WithMessage($"{name} must be between 0 and {MaxUsd} (or null: no cap)");

        private void Tokens(System.Linq.Expressions.Expression<Func<Command, long?>> field, string name) =>
            RuleFor(field).Must(v => v is null || (v >= 0 && v <= MaxTokens))
                .WithName(name).WithMessage($"{name} must be between 0 and {MaxTokens} (or null: no cap)");
    }

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, IAgentDirectory directory,
        IMediator mediator, TimeProvider clock) : IRequestHandler<Command, BudgetView>
    {
        public async Task<BudgetView> Handle(Command command, CancellationToken cancellationToken)
        {
            if (command.Scope != Scopes.Hive && !directory.IsAgent(command.Scope))
                throw new NotFoundException($"no agent named {command.Scope} (the hive's budget is *)");
            var change = changes.Current;
            Apply(change, state, command.Scope, new Caps(command.DailyUsd, command.MonthlyUsd, command.DailyTokens, command.MonthlyTokens),
                command.By, null, clock.GetUtcNow());
            await rows.RaiseAsync(change, a => command.Scope == Scopes.Hive || a.Name == command.Scope);
            change.AfterPublished(admission.Pump);
            var view = await mediator.Send(new ReadGovernance.Query(), cancellationToken);
            return view.Budgets.First(b => b.Scope == command.Scope);
        }
    }

    /// <summary>Sets <paramref name="scope"/>'s caps in <paramref name="change"/>: the row, the book (taken back on a rollback), the audit, the event.</summary>
    internal static void Apply(StateChange change, GovernanceState state, string scope, Caps caps, Actor by, string? reason, DateTimeOffset now)
    {
        var before = state.Budgets.CapsOf(scope);
        change.Execute("""
            INSERT INTO budgets (scope, daily_usd, monthly_usd, daily_tokens, monthly_tokens, set_by, set_at)
            VALUES (@scope, @DailyUsd, @MonthlyUsd, @DailyTokens, @MonthlyTokens, @By, @now)
            ON CONFLICT (scope) DO UPDATE SET daily_usd = excluded.daily_usd, monthly_usd = excluded.monthly_usd,
                daily_tokens = excluded.daily_tokens, monthly_tokens = excluded.monthly_tokens, set_by = excluded.set_by, set_at = excluded.set_at
            """, new { scope, caps.DailyUsd, caps.MonthlyUsd, caps.DailyTokens, caps.MonthlyTokens, By = by.Name, now });
        Interventions.Record(change, now, by, InterventionActions.BudgetSet, scope, reason, before, caps);
        state.Budgets.Set(scope, caps);
        change.OnRolledBack(() => state.Budgets.Set(scope, before));
        change.Raise(new BudgetChanged(scope, by.Name));
    }
}
