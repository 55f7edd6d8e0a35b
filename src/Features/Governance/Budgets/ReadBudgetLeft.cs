using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// What an agent's own daily cost cap has left today (a raise for today counts): what another feature weighs a cost
/// against before it lets the agent start something. Null figures: the agent has no daily cost cap.
/// </summary>
public static class ReadBudgetLeft
{
    public sealed record Query(string Agent) : IRequest<Result>;

    public sealed record Result(double? DailyCapUsd, double SpentTodayUsd, double? LeftTodayUsd);

    internal sealed class Handler(GovernanceState state, TimeProvider clock) : IRequestHandler<Query, Result>
    {
        public Task<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            var cap = state.Budgets.CapOf(query.Agent, Metrics.DailyUsd, now);
            var spent = state.Budgets.SpentIn(query.Agent, daily: true, now).Usd;
            return Task.FromResult(new Result(cap, spent, cap is { } c ? Math.Max(0, c - spent) : null));
        }
    }
}
