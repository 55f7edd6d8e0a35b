using Hive.Contracts.Json;
using Hive.Shared.Data;
using Hive.Shared.Hosting;
using Hive.Shared.Search;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Messages;

/// <summary>
/// The retention sweep: delivered messages older than <see cref="MessagesOptions.RetainDays"/> are removed, at start-up and
/// every <see cref="MessagesOptions.RetentionSweepMinutes"/>. Queued, in-flight and undeliverable messages are never
/// removed, nor is anything of another feature's (answered questions, decided approvals keep their own tables). It deletes
/// in small transactions with a pause between them, so the group-commit writer never waits long for the write lock: sends
/// carry on at their usual latency while it runs (measured: <c>bench -- retention</c>).
/// </summary>
public sealed class MessageRetention(IServiceScopeFactory scopes, IOptions<MessagesOptions> options, TimeProvider clock, ILogger<MessageRetention> logger,
    ISearchIndex search)
    : PeriodicBackgroundService(scopes, TimeSpan.FromMinutes(options.Value.RetentionSweepMinutes), clock, logger)
{
    /// <summary>Rows per transaction: a few milliseconds of the write lock each.</summary>
    public const int BatchSize = 1000;

    private long _deleted;

    /// <summary>Messages removed since start-up (tests and the bench read it).</summary>
    public long Deleted => Interlocked.Read(ref _deleted);

    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        var db = services.GetRequiredService<IDb>();
        var clock = services.GetRequiredService<TimeProvider>();
        var cutoff = clock.GetUtcNow().AddDays(-options.Value.RetainDays);
        // Old rows have low ids: the scan in id order finds a batch at once, without an index on delivered_at.
        // julianday on both sides: timestamps reach the table in two text forms (Dapper's parameter form and
        // UtcTimestamp's), which compare wrongly as text within a day.
        var total = await BatchedDelete.RunAsync(db, """
            DELETE FROM messages WHERE id IN (
                SELECT id FROM messages WHERE delivered_at IS NOT NULL AND julianday(delivered_at) < julianday(@cutoff) ORDER BY id LIMIT @BatchSize)
            RETURNING id
            """, cutoff, BatchSize, clock, deleted => Interlocked.Add(ref _deleted, deleted),
            // The index forgets them in the batch's own transaction: search never finds what retention removed.
            (connection, transaction, ids) => search.Remove(connection, transaction, MessageSearch.Kind, ids), stoppingToken);
        if (total > 0) Logger.LogInformation("retention: removed {Count} delivered messages older than {Days} days", total, options.Value.RetainDays);
    }
}
