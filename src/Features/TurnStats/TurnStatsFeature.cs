using Hive.Contracts.TurnStats;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Limits;
using Hive.Shared.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.TurnStats;

public static class TurnStatsFeature
{
    public static IServiceCollection AddTurnStats(this IServiceCollection services)
    {
        DapperSetup.AddJsonColumn<Dictionary<string, long>>();
        services.AddOptions<TurnStatsOptions>().BindConfiguration("Hive:TurnStats")
            .Validate(o => o.RetainDays > 0 && o.RetainDays <= 36_500, "Hive:TurnStats:RetainDays must be between 1 and 36500")
            .Validate(o => o.RetentionSweepMinutes > 0 && o.RetentionSweepMinutes <= 7 * 24 * 60,
                "Hive:TurnStats:RetentionSweepMinutes must be positive and at most a week")
            .Validate(o => o.TranscriptTurnBytes is >= 1024 and <= 64 * 1024 * 1024, "Hive:TurnStats:TranscriptTurnBytes must be between 1024 and 67108864")
            .Validate(o => o.TranscriptBytesPerHour is >= 1024 and <= 1024L * 1024 * 1024 * 1024,
                "Hive:TurnStats:TranscriptBytesPerHour must be between 1024 and 1099511627776")
            .ValidateOnStart();
        services.AddSingleton<TurnRetention>();
        services.AddHostedService(p => p.GetRequiredService<TurnRetention>());
        services.AddSingleton<Hive.Shared.Search.ISearchSource, TranscriptSearch.Source>();
        services.AddTransient<AgentRowContributor, TurnAggregatesOnAgentRows>();
        services.AddSingleton<TranscriptBudget>();
        services.AddTransient<AgentRowContributor, TranscriptStorageOnAgentRows>();
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

/// <summary>
/// What each agent may store of transcript text per hour (<see cref="TurnStatsOptions.TranscriptBytesPerHour"/>), counted
/// from this hour's <c>transcript_entries</c> when first used.
/// </summary>
internal sealed class TranscriptBudget(IOptions<TurnStatsOptions> options, IDb db, TimeProvider clock)
{
    public HourlyByteBudget Budget { get; } = new(options.Value.TranscriptBytesPerHour, "transcript text", "Hive:TurnStats:TranscriptBytesPerHour", clock, hour =>
    {
        using var connection = db.Open();
        return Dapper.SqlMapper.Query<(string Agent, long Bytes)>(connection,
                "SELECT agent, sum(length(CAST(text AS BLOB))) FROM transcript_entries WHERE at >= @hour GROUP BY agent", new { hour })
            .ToDictionary(r => r.Agent, r => r.Bytes, StringComparer.Ordinal);
    });
}

/// <summary>Each agent row's <c>transcript_storage</c>: what it stored this hour, its limit, and since when more was refused.</summary>
internal sealed record TranscriptStorageFacts(StorageBudget TranscriptStorage);

internal sealed class TranscriptStorageOnAgentRows(TranscriptBudget budget) : AgentRowContributor<TranscriptStorageFacts>
{
    protected override Task<IReadOnlyDictionary<string, TranscriptStorageFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, TranscriptStorageFacts> facts = agents.ToDictionary(
            a => a.Name, a => new TranscriptStorageFacts(budget.Budget.Of(a.Name)), StringComparer.Ordinal);
        return Task.FromResult(facts);
    }
}
