using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Turns;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// <c>record_turn</c>'s part in Governance, inside its change: the granted turn (when named) must be this agent's and
/// still open, and ends; what the turn spent is counted for the agent and the hive; a cap crossed by it tells the
/// operator once per period (its warning share, then the cap itself: the agent's next turn is then held).
/// </summary>
internal sealed class TurnLedger(StateChanges changes, IMediator mediator, Admission admission, GovernanceState state,
    IOptions<GovernanceOptions> options, TimeProvider clock) : ITurnLedger
{
    public async Task RecordAsync(TurnReport report, CancellationToken cancellationToken)
    {
        var change = changes.Current;
        var now = clock.GetUtcNow();
        if (report.TurnId is { } turnId)
        {
            var turn = change.QuerySingleOrDefault<TurnOwner>("SELECT agent, ended_at FROM governed_turns WHERE id = @turnId", new { turnId });
            if (turn is null || turn.Agent != report.Agent) throw new NotFoundException($"no turn {turnId} was granted to {report.Agent}");
            if (turn.EndedAt is not null) throw new ConflictException($"turn {turnId} has ended already: record it without turn_id");
        }

        var (usd, source) = Pricing.CostOf(report, options.Value.Prices);
        change.Execute("""
            INSERT INTO spend (agent, at, cost_usd, cost_source, tokens, turn_id) VALUES (@Agent, @now, @usd, @source, @Tokens, @TurnId)
            """, new { report.Agent, now, usd, source, report.Tokens, report.TurnId });
        if (report.TurnId is { } id) await mediator.Send(new EndTurn.Command(id, TurnEndReasons.Recorded, usd, report.Tokens), CancellationToken.None);

        foreach (var scope in new[] { report.Agent, Scopes.Hive })
            foreach (var metric in Metrics.All)
                await NoticeAsync(change, scope, metric, now, Metrics.IsUsd(metric) ? usd ?? 0 : report.Tokens);
        change.AfterPublished(() =>
        {
            state.Budgets.AddSpend(report.Agent, now, usd, report.Tokens);
            admission.Pump();
        });
    }

    /// <summary>Tells the operator once per period when this turn took a scope past the warning share of a cap, or to it.</summary>
    private async Task NoticeAsync(StateChange change, string scope, string metric, DateTimeOffset now, double added)
    {
        if (added <= 0 || state.Budgets.CapOf(scope, metric, now) is not { } cap) return;
        var before = state.Budgets.AmountOf(scope, metric, now);
        var after = before + added;
        var figures = new Reached(scope, metric, Metrics.PeriodOf(metric, now), after, cap);
        var warnAt = cap * options.Value.WarnPercent / 100.0;
        string who = scope == Scopes.Hive ? "the hive" : scope;
        if (after >= cap && Told(change, figures, "exceeded"))
        {
            change.Raise(new BudgetExceeded(figures));
            await TellOperatorAsync("budget_exceeded",
                $"{who} has reached its {Describe(metric)} cap: {Metrics.Show(metric, after)} of {Metrics.Show(metric, cap)}; its next turns wait for you", figures);
        }
        else if (after >= warnAt && after < cap && Told(change, figures, "warning"))
        {
            change.Raise(new BudgetWarning(figures));
            await TellOperatorAsync("budget_warning",
                $"{who} has used {after / cap:P0} of its {Describe(metric)} cap: {Metrics.Show(metric, after)} of {Metrics.Show(metric, cap)}", figures);
        }
    }

    private static bool Told(StateChange change, Reached figures, string kind) => change.Execute("""
        INSERT INTO budget_notices (scope, metric, period, kind) VALUES (@Scope, @Metric, @Period, @kind) ON CONFLICT DO NOTHING
        """, new { figures.Scope, figures.Metric, figures.Period, kind }) == 1;

    private Task TellOperatorAsync(string kind, string body, Reached figures) =>
        mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, AgentNames.Operator, kind, body,
            new Dictionary<string, object?> { ["scope"] = figures.Scope, ["metric"] = figures.Metric, ["period"] = figures.Period, ["spent"] = figures.Spent, ["cap"] = figures.Cap })]),
            CancellationToken.None);

    private sealed record TurnOwner(string Agent, DateTimeOffset? EndedAt);

    internal static string Describe(string metric) => metric switch
    {
        Metrics.DailyUsd => "daily spend",
        Metrics.MonthlyUsd => "monthly spend",
        Metrics.DailyTokens => "daily tokens",
        _ => "monthly tokens",
    };
}
