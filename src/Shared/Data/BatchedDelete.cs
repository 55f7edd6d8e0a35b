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
    public static async Task<int> RunAsync(IDb db, string sql, DateTimeOffset cutoff, int batchSize, TimeProvider clock,
        Action<int> onBatch, CancellationToken stoppingToken)
    {
        var total = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            int deleted;
            using (var connection = db.Open())
            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                deleted = connection.Execute(sql, new { cutoff, BatchSize = batchSize }, transaction);
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
