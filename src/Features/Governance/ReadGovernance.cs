using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// <c>GET /api/governance</c> (and <c>/api/state</c>'s <c>governance</c>): the halt, the slots and every running turn,
/// the queue in the order it is granted, paused agents, open quota circuits, and each budget against what was spent.
/// All of it from memory.
/// </summary>
public static class ReadGovernance
{
    public sealed record Query : IRequest<GovernanceView>;

    internal sealed class Handler(GovernanceState state, Admission admission, Microsoft.Extensions.Options.IOptions<GovernanceOptions> options,
        IAgentDirectory directory, TimeProvider clock) : IRequestHandler<Query, GovernanceView>
    {
        public Task<GovernanceView> Handle(Query query, CancellationToken cancellationToken) =>
            Task.FromResult(Build(state, admission, options.Value, directory, clock));
    }

    internal static GovernanceView Build(GovernanceState state, Admission admission, GovernanceOptions options, IAgentDirectory directory, TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        var (all, queue) = admission.Snapshot();
        var running = all.Where(s => !s.EndCommitted).ToList();
        var budgets = state.Budgets;
        var view = new GovernanceView(
            state.Halt is { } halt ? new HaltView(halt.By, halt.Since, halt.Reason) : null,
            admission.MaxConcurrent,
            running.Count,
            options.ProviderCaps,
            running.Where(s => s.TurnId > 0).Select(s => new RunningTurnView(s.TurnId, s.Agent, s.Provider, s.GrantedAt,
                s.Stop is null ? "running" : "stopping", s.Stop?.Reason)).ToList(),
            queue.Select(w => admission.HoldOf(w.Agent, w.Chain) is { } held
                ? new WaitingView(w.Agent, w.Since, w.OperatorWake, held.Reason, held.Until)
                : new WaitingView(w.Agent, w.Since, w.OperatorWake, HoldReasons.Queued, null)).ToList(),
            state.Paused.Select(p => new PausedView(p.Agent, p.By, p.Since)).ToList(),
            state.Circuits.Where(c => c.Until > now).Select(c => new CircuitView(c.Provider, c.Until, c.Since, c.Source)).ToList(),
            budgets.KnownScopes(now, directory.List().Select(a => a.Name)).Select(scope => BudgetView.Of(budgets, scope, now)).ToList(),
            state.QuotaHolds(now).Select(h => new QuotaHoldView(h.Agent, h.Provider, h.Until, h.Since)).ToList());
        return view;
    }
}

public sealed record GovernanceView(
    HaltView? Halted, int MaxConcurrentTurns, int SlotsInUse, IReadOnlyDictionary<string, int> ProviderCaps,
    IReadOnlyList<RunningTurnView> Running, IReadOnlyList<WaitingView> Queue, IReadOnlyList<PausedView> Paused,
    IReadOnlyList<CircuitView> Circuits, IReadOnlyList<BudgetView> Budgets, IReadOnlyList<QuotaHoldView> QuotaHolds);

/// <summary>An agent held by its own quota report (only it: its provider's circuit is not open on its word alone).</summary>
public sealed record QuotaHoldView(string Agent, string Provider, DateTimeOffset Until, DateTimeOffset Since);

public sealed record HaltView(string By, DateTimeOffset Since, string? Reason);

public sealed record RunningTurnView(long TurnId, string Agent, string Provider, DateTimeOffset GrantedAt, string State, string? StopReason);

public sealed record WaitingView(string Agent, DateTimeOffset Since, bool OperatorWake, string Reason, DateTimeOffset? Until);

public sealed record PausedView(string Agent, string By, DateTimeOffset Since);

public sealed record CircuitView(string Provider, DateTimeOffset Until, DateTimeOffset Since, string Source);

/// <summary>
/// A scope's caps in force (a raise for this period included), what it spent this day and month, the cap it has reached,
/// if any, and its own caps (<c>own</c>: set at run time or configured, without raises: what an edit starts from).
/// </summary>
public sealed record BudgetView(string Scope, double? DailyUsd, double? MonthlyUsd, long? DailyTokens, long? MonthlyTokens, SpentView Spent, string? Over, Caps Own)
{
    internal static BudgetView Of(BudgetBook book, string scope, DateTimeOffset now)
    {
        var day = book.SpentIn(scope, daily: true, now);
        var month = book.SpentIn(scope, daily: false, now);
        double? Cap(string metric) => book.CapOf(scope, metric, now);
        return new BudgetView(scope, Cap(Metrics.DailyUsd), Cap(Metrics.MonthlyUsd), (long?)Cap(Metrics.DailyTokens), (long?)Cap(Metrics.MonthlyTokens),
            new SpentView(day.Usd, month.Usd, day.Tokens, month.Tokens, day.UnpricedTurns), book.ReachedOf(scope, now)?.Metric, book.CapsOf(scope));
    }
}

public sealed record SpentView(double DayUsd, double MonthUsd, long DayTokens, long MonthTokens, long DayUnpricedTurns);
