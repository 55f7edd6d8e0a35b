using Dapper;

namespace Hive.Shared.Data;

/// <summary>
/// A retention sweep's loop: runs a <c>DELETE … LIMIT @BatchSize</c> in its own short write transaction again and again,
/// with a pause between batches so that other writers never wait long for the lock, until a batch removes fewer than
/// <c>batchSize</c> rows or <paramref name="stoppingToken"/> is cancelled. The statement gets <c>@cutoff</c> and
/// <c>@BatchSize</c>.
/// </summary>
public static class BatchedDelete
{
    /// <summary>Between batches: writers waiting for the lock commit here.</summary>
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(5);

    /// <summary>Runs the batches; <paramref name="onBatch"/> sees each batch's count as it commits. Returns the total.</summary>
    public static Task<int> RunAsync(IDb db, string sql, DateTimeOffset cutoff, int batchSize, TimeProvider clock,
        Action<int> onBatch, CancellationToken stoppingToken) =>
        RunAsync(db, sql, cutoff, batchSize, clock, onBatch, null, stoppingToken);

    /// <summary>
    /// As above, for a statement that ends in <c>RETURNING id</c>: <paramref name="alsoForget"/> gets each batch's ids in the
    /// batch's transaction, so what follows the rows (the search index) forgets them in the same commit.
    /// </summary>
    public static async Task<int> RunAsync(IDb db, string sql, DateTimeOffset cutoff, int batchSize, TimeProvider clock,
        Action<int> onBatch, Action<Microsoft.Data.Sqlite.SqliteConnection, Microsoft.Data.Sqlite.SqliteTransaction, IReadOnlyList<long>>? alsoForget,
        CancellationToken stoppingToken)
    {
        var total = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            int deleted;
            using (await db.EnterWriteAsync(stoppingToken))
            using (var connection = db.Open())
            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                if (alsoForget is null)
                    deleted = connection.Execute(sql, new { cutoff, BatchSize = batchSize }, transaction);
                else
                {
                    var ids = connection.Query<long>(sql, new { cutoff, BatchSize = batchSize }, transaction).AsList();
                    if (ids.Count > 0) alsoForget(connection, transaction, ids);
                    deleted = ids.Count;
                }
                transaction.Commit();
            }
            total += deleted;
            onBatch(deleted);
            if (deleted < batchSize) break;
            await Task.Delay(Pause, clock, stoppingToken);
        }
        return total;
    }
}
