using Hive.Contracts.Governance;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Metrics;
using Hive.Shared.Turns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

public static class GovernanceFeature
{
    public static IServiceCollection AddGovernance(this IServiceCollection services)
    {
        DapperSetup.AddJsonColumn<System.Text.Json.JsonElement>();
        services.AddOptions<GovernanceOptions>().BindConfiguration("Hive:Governance")
            .Validate(o => o.MaxConcurrentTurns is > 0 and <= 10_000, "Hive:Governance:MaxConcurrentTurns must be 1 to 10000")
            .Validate(o => o.ProviderCaps.All(c => c.Value is > 0 and <= 10_000 && System.Text.RegularExpressions.Regex.IsMatch(c.Key, ProviderNames.Pattern)),
                "Hive:Governance:ProviderCaps: each provider name must match ^[a-z][a-z0-9-]{0,30}$ and its cap be 1 to 10000")
            .Validate(o => o.MaxTurnMinutes > 0 && o.QuotaDefaultMinutes > 0, "Hive:Governance:MaxTurnMinutes and QuotaDefaultMinutes must be positive")
            .Validate(o => o.WarnPercent is > 0 and <= 100, "Hive:Governance:WarnPercent must be 1 to 100")
            .Validate(o => o.StallMinutes is >= 0 and <= 10_080 && o.LoopTurns is >= 0 and <= 1000,
                "Hive:Governance:StallMinutes must be 0 (off) to 10080 and LoopTurns 0 (off) to 1000")
            .Validate(o => o.Prices.Values.All(p => new[] { p.InputPerMtok, p.OutputPerMtok, p.CacheReadPerMtok, p.CacheWritePerMtok }.All(v => v >= 0 && double.IsFinite(v))),
                "Hive:Governance:Prices must be non-negative numbers (USD per million tokens)")
            .Validate(o => o.MaxReportedTurnUsd is >= 0 and <= 1_000_000 && o.MaxReportedTurnTokens is >= 0 and <= 10_000_000_000,
                "Hive:Governance:MaxReportedTurnUsd must be 0 to 1000000 and MaxReportedTurnTokens 0 to 10000000000")
            .ValidateOnStart();
        services.AddOptions<StopGraceOptions>().BindConfiguration("Hive:Containers"); // Containers validates it
        services.AddOptions<AuditOptions>().BindConfiguration("Hive:Audit")
            .Validate(o => o.RetainDays is > 0 and <= 36_500, "Hive:Audit:RetainDays must be between 1 and 36500").ValidateOnStart();
        services.AddSingleton<Hive.Shared.Audit.IAuditLog, AuditLog>();
        services.AddHostedService<AuditRetention>();
        services.AddSingleton<GovernanceState>();
        services.AddSingleton<Admission>();
        services.AddSingleton<ProviderRoutes>();
        services.AddSingleton<AgentProviders>();
        services.AddSingleton<IWorkHolds, WorkHolds>();
        services.AddSingleton<ITurnLedger, TurnLedger>();
        services.AddSingleton<Spending>();
        services.AddSingleton<Hive.Shared.Budgets.IBudgetShares, ShareBudget.Check>();
        services.AddSingleton<Spend.ModelCallQuestions>();
        services.AddTransient<GovernedRows>();
        services.AddSingleton<TurnClock>();
        services.AddHostedService(p => p.GetRequiredService<TurnClock>());
        services.AddTransient<IDashboardStateContributor, GovernanceStateContributor>();
        services.AddTransient<AgentRowContributor, GovernanceOnAgentRows>();
        services.AddHiveMetrics<GovernanceMetrics>();
        return services;
    }
}

/// <summary>The snapshot's <c>governance</c>: what <c>GET /api/governance</c> answers (all of it from memory).</summary>
internal sealed class GovernanceStateContributor(GovernanceState governance, Admission admission, IOptions<GovernanceOptions> options,
    IAgentDirectory directory, TimeProvider clock)
    : IDashboardStateContributor
{
    private GovernanceView? _captured;

    public void Capture() => _captured = ReadGovernance.Build(governance, admission, options.Value, directory, clock);

    public Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        state.Set("governance", _captured);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Each agent row's <c>held</c> (what would hold its next turn now, other than a full house), <c>paused</c>, its spend,
/// its subtree's (its own and every agent's under it), its burn rate (<see cref="BurnRate"/>) and when at that rate its
/// daily cost cap runs out.
/// </summary>
internal sealed class GovernanceOnAgentRows(GovernanceState state, Admission admission, AgentProviders providers, ProviderRoutes routes, IAgentTree tree,
    IDb db, TimeProvider clock)
    : AgentRowContributor<GovernanceFacts>
{
    protected override async Task<IReadOnlyDictionary<string, GovernanceFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var parents = tree.Parents();
        var burns = await BurnRate.PerHourAsync(db, now, cancellationToken);
        var facts = new Dictionary<string, GovernanceFacts>(StringComparer.Ordinal);
        foreach (var agent in agents)
        {
            var chain = await providers.ChainOfAsync(agent.Name, cancellationToken);
            var (today, month) = SpentBy(agent.Name);
            var (subtreeToday, subtreeMonth) = (today, month);
            if (parents.Values.Contains(agent.Name, StringComparer.Ordinal))
                foreach (var (childToday, childMonth) in AgentLineage.DescendantsOf(parents, agent.Name).Select(SpentBy))
                    (subtreeToday, subtreeMonth) = (subtreeToday + childToday, subtreeMonth + childMonth);
            var on = chain.Count > 1 ? routes.Of(agent.Name) is { } moved ? new ProviderNow(moved.Provider, moved.Reason, moved.Since) : new ProviderNow(chain[0], null, null) : null;
            var burn = burns.GetValueOrDefault(agent.Name);
            facts[agent.Name] = new GovernanceFacts(admission.HoldOf(agent.Name, chain), state.IsPaused(agent.Name), today, month, subtreeToday, subtreeMonth,
                burn, BurnRate.RunsOutAt(state.Budgets.CapOf(agent.Name, Metrics.DailyUsd, now) is { } cap ? cap - today : null, burn, now), on);
        }
        return facts;

        (double Today, double Month) SpentBy(string agent) =>
            (state.Budgets.SpentIn(agent, daily: true, now).Usd, state.Budgets.SpentIn(agent, daily: false, now).Usd);
    }
}

/// <param name="ProviderNow">For an agent with a provider chain: the provider its turns run on and why (null reason: the first, never moved); null without a chain.</param>
internal sealed record GovernanceFacts(Held? Held, bool Paused, double SpendTodayUsd, double SpendMonthUsd, double SubtreeSpendTodayUsd, double SubtreeSpendMonthUsd,
    double BurnUsdPerHour, DateTimeOffset? BudgetRunsOutAt, ProviderNow? ProviderNow = null);
