using Hive.Shared.Data;
using Hive.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.TurnStats;

/// <summary>
/// The retention sweep: turns recorded more than <see cref="TurnStatsOptions.RetainDays"/> ago are removed, at start-up
/// and every <see cref="TurnStatsOptions.RetentionSweepMinutes"/>, in small transactions with a pause between them so
/// that the agents' own writes never wait long for the lock. No events: nothing on the page shows month-old turns (the
/// 24-hour figures never include them).
/// </summary>
public sealed class TurnRetention(IServiceScopeFactory scopes, IOptions<TurnStatsOptions> options, TimeProvider clock, ILogger<TurnRetention> logger,
    Hive.Shared.Search.ISearchIndex search)
    : PeriodicBackgroundService(scopes, TimeSpan.FromMinutes(options.Value.RetentionSweepMinutes), clock, logger)
{
    /// <summary>Rows per transaction: a few milliseconds of the write lock each.</summary>
    public const int BatchSize = 500;

    private long _deleted;

    /// <summary>Turns removed since start-up (tests read it).</summary>
    public long Deleted => Interlocked.Read(ref _deleted);

    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        var db = services.GetRequiredService<IDb>();
        var clock = services.GetRequiredService<TimeProvider>();
        var cutoff = clock.GetUtcNow().AddDays(-options.Value.RetainDays);
        var total = await BatchedDelete.RunAsync(db, """
            DELETE FROM turns WHERE id IN (
                SELECT id FROM turns WHERE recorded_at < @cutoff ORDER BY recorded_at LIMIT @BatchSize)
            """, cutoff, BatchSize, clock, deleted => Interlocked.Add(ref _deleted, deleted), stoppingToken);
        if (total > 0) Logger.LogInformation("retention: removed {Count} turns older than {Days} days", total, options.Value.RetainDays);
        // Transcripts are kept as long as turns are.
        var entries = await BatchedDelete.RunAsync(db, """
            DELETE FROM transcript_entries WHERE id IN (
                SELECT id FROM transcript_entries WHERE at < @cutoff ORDER BY at LIMIT @BatchSize)
            RETURNING id
            """, cutoff, BatchSize, clock, _ => { },
            // The search index forgets them in the batch's own transaction.
            (connection, transaction, ids) => search.Remove(connection, transaction, TranscriptSearch.Kind, ids), stoppingToken);
        if (entries > 0) Logger.LogInformation("retention: removed {Count} transcript entries older than {Days} days", entries, options.Value.RetainDays);
    }
}
