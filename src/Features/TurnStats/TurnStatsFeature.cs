using Hive.Shared.Metrics;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.TurnStats;

public static class TurnStatsFeature
{
    public static IServiceCollection AddTurnStats(this IServiceCollection services)
    {
        services.AddOptions<TurnStatsOptions>().BindConfiguration("Hive:TurnStats")
            .Validate(o => o.RetainDays > 0 && o.RetainDays <= 36_500, "Hive:TurnStats:RetainDays must be between 1 and 36500")
            .Validate(o => o.RetentionSweepMinutes > 0 && o.RetentionSweepMinutes <= 7 * 24 * 60,
                "Hive:TurnStats:RetentionSweepMinutes must be positive and at most a week")
            .Validate(o => o.TranscriptTurnBytes is >= 1024 and <= 64 * 1024 * 1024, "Hive:TurnStats:TranscriptTurnBytes must be between 1024 and 67108864")
            .ValidateOnStart();
        services.AddSingleton<TurnRetention>();
        services.AddHostedService(p => p.GetRequiredService<TurnRetention>());
        services.AddSingleton<Hive.Shared.Search.ISearchSource, TranscriptSearch.Source>();
        services.AddTransient<AgentRowContributor, TurnAggregatesOnAgentRows>();
        services.AddHiveMetrics<TurnStatsMetrics>();
        return services;
    }
}

/// <summary>Each agent row's turn figures (<see cref="TurnAggregates"/>): two index lookups per agent, on one connection.</summary>
internal sealed class TurnAggregatesOnAgentRows(IDb db, TimeProvider clock) : AgentRowContributor<TurnAggregates>
{
    protected override Task<IReadOnlyDictionary<string, TurnAggregates>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        using var connection = db.Open();
        IReadOnlyDictionary<string, TurnAggregates> facts = agents.ToDictionary(
            a => a.Name, a => TurnAggregates.Read(connection, null, a.Name, now), StringComparer.Ordinal);
        return Task.FromResult(facts);
    }
}
