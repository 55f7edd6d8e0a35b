using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// The one way spend is counted, in the caller's change: a <c>spend</c> row, the agent's and the hive's books in memory
/// (taken back on a rollback), and the operator told once per period when a scope passes its warning share of a cap or
/// reaches it. A recorded turn's spend and a metered call's both come here. The rows of the agent's ancestors are raised
/// with it, since their subtree's spend grew.
/// </summary>
internal sealed class Spending(IMediator mediator, GovernanceState state, IOptions<GovernanceOptions> options, IAgentTree tree, IServiceScopeFactory scopes)
{
    /// <param name="hiveUsd">The part of <paramref name="usd"/> that reaches the hive's books (null: all of it).</param>
    /// <param name="hiveTokens">The part of <paramref name="tokens"/> that reaches the hive's books (null: all of them).</param>
    public async Task CountAsync(StateChange change, string agent, DateTimeOffset now, double? usd, string source, long tokens, long? turnId,
        double? hiveUsd = null, long? hiveTokens = null)
    {
        change.Execute("""
            INSERT INTO spend (agent, at, cost_usd, cost_source, tokens, turn_id, hive_cost_usd, hive_tokens)
            VALUES (@agent, @now, @usd, @source, @tokens, @turnId, @hiveUsd, @hiveTokens)
            """, new { agent, now, usd, source, tokens, turnId, hiveUsd, hiveTokens });
        foreach (var metric in Metrics.All)
            await NoticeAsync(change, agent, metric, now, Metrics.IsUsd(metric) ? usd ?? 0 : tokens);
        foreach (var metric in Metrics.All)
            await NoticeAsync(change, Scopes.Hive, metric, now, Metrics.IsUsd(metric) ? hiveUsd ?? usd ?? 0 : hiveTokens ?? tokens);
        // Counted in memory now (what the change's events make a page read again must include it), taken back on a rollback.
        state.Budgets.AddSpend(agent, now, usd, tokens, hiveUsd: hiveUsd, hiveTokens: hiveTokens);
        change.OnRolledBack(() => state.Budgets.AddSpend(agent, now, usd, tokens, sign: -1, hiveUsd: hiveUsd, hiveTokens: hiveTokens));
        if (AgentLineage.AncestorsOf(tree.Parents(), agent) is { Count: > 0 } ancestors)
        {
            using var scope = scopes.CreateScope(); // the rows' contributors are transient, and this is a singleton
            await scope.ServiceProvider.GetRequiredService<GovernedRows>().RaiseAsync(change, a => ancestors.Contains(a.Name, StringComparer.Ordinal));
        }
    }

    /// <summary>Tells the operator once per period when this spend took a scope past the warning share of a cap, or to it.</summary>
    private async Task NoticeAsync(StateChange change, string scope, string metric, DateTimeOffset now, double added)
    {
        if (added <= 0 || state.Budgets.CapOf(scope, metric, now) is not { } cap) return;
        var before = state.Budgets.AmountOf(scope, metric, now);
        var after = before + added;
        var figures = new Reached(scope, metric, Metrics.PeriodOf(metric, now), after, cap);
        var warnAt = cap * options.Value.WarnPercent / 100.0;
        var who = scope == Scopes.Hive ? "the hive" : scope;
        if (after >= cap && Told(change, figures, "exceeded"))
        {
            change.Raise(new BudgetExceeded(figures));
            await TellOperatorAsync("budget_exceeded",
                $"{who} has reached its {TurnLedger.Describe(metric)} cap: {Metrics.Show(metric, after)} of {Metrics.Show(metric, cap)}; its next turns wait for you", figures);
        }
        else if (after >= warnAt && after < cap && Told(change, figures, "warning"))
        {
            change.Raise(new BudgetWarning(figures));
            await TellOperatorAsync("budget_warning",
                $"{who} has used {after / cap:P0} of its {TurnLedger.Describe(metric)} cap: {Metrics.Show(metric, after)} of {Metrics.Show(metric, cap)}", figures);
        }
    }

    private static bool Told(StateChange change, Reached figures, string kind) => change.Execute("""
        INSERT INTO budget_notices (scope, metric, period, kind) VALUES (@Scope, @Metric, @Period, @kind) ON CONFLICT DO NOTHING
        """, new { figures.Scope, figures.Metric, figures.Period, kind }) == 1;

    private Task TellOperatorAsync(string kind, string body, Reached figures) =>
        mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, AgentNames.Operator, kind, body,
            new Dictionary<string, object?> { ["scope"] = figures.Scope, ["metric"] = figures.Metric, ["period"] = figures.Period, ["spent"] = figures.Spent, ["cap"] = figures.Cap })]),
            CancellationToken.None);
}
