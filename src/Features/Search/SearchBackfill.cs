using Dapper;
using Hive.Shared.Data;
using Hive.Shared.Search;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Search;

/// <summary>
/// At start-up, indexes what a source held before the index knew it (a hive older than Search, or a source added later),
/// once per kind, in one write transaction. Live writes index themselves; one that races the backfill is kept once.
/// </summary>
internal sealed class SearchBackfill(IDb db, ISearchIndex index, IEnumerable<ISearchSource> sources, TimeProvider clock, ILogger<SearchBackfill> logger)
    : IHostedService
{
    private const int Chunk = 1000;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        using var transaction = connection.BeginTransaction(deferred: false);
        var done = connection.Query<string>("SELECT kind FROM search_sources", transaction: transaction).ToHashSet(StringComparer.Ordinal);
        var total = 0;
        foreach (var source in sources.Where(s => s.Kinds.Any(k => !done.Contains(k))))
        {
            // Buffered chunk by chunk: the source's reader and the index's inserts share the connection.
            foreach (var chunk in source.ReadAll(connection, transaction).ToList().Chunk(Chunk))
            {
                index.Add(connection, transaction, chunk);
                total += chunk.Length;
            }
            foreach (var kind in source.Kinds)
                connection.Execute("INSERT OR IGNORE INTO search_sources (kind, backfilled_at) VALUES (@kind, @now)",
                    new { kind, now = clock.GetUtcNow() }, transaction);
        }
        transaction.Commit();
        if (total > 0) logger.LogInformation("search: indexed {Count} texts stored before the index", total);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
