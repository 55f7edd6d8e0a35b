using Dapper;
using Hive.Shared.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Data;

/// <summary>
/// Copies the write-ahead log back into the database when a commit has let it grow past <see cref="WalCheckpoints.BackgroundAt"/>
/// frames: off every writer's path (see <see cref="WalCheckpoints"/>). PASSIVE, like SQLite's own automatic checkpoint: it
/// copies what no reader still needs and never waits for a reader or a writer, so a long read only postpones it.
/// A failing checkpoint (a full disk) fails no write, as SQLite's own did not: it is logged once, until one succeeds again.
/// </summary>
public sealed class WalCheckpointer(SqliteDb db, HivePaths paths, TimeProvider clock, ILogger<WalCheckpointer> logger)
    : TriggeredBackgroundService(db.CheckpointWanted, idle: null, passAtStart: false, clock, logger)
{
    private long _checkpoints;
    private bool _failing;

    /// <summary>Checkpoints that ran to their end since start-up (<c>hive_db_checkpoints_total</c>).</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    protected override Task PassAsync(CancellationToken stoppingToken)
    {
        using var connection = db.Open();
        // One row: busy (1: another checkpoint held the lock, nothing done), frames in the log, frames copied so far.
        var (busy, _, _) = connection.QuerySingle<(long Busy, long Log, long Copied)>("PRAGMA wal_checkpoint(PASSIVE)");
        if (busy == 0) Interlocked.Increment(ref _checkpoints);
        if (_failing) Logger.LogInformation("write-ahead log checkpoints of {Database} succeed again", paths.Database);
        _failing = false;
        return Task.CompletedTask;
    }

    protected override void PassFailed(Exception e)
    {
        if (!_failing)
            Logger.LogWarning("a write-ahead log checkpoint of {Database} failed: {Error}; the log grows until one succeeds " +
                "(tried again after the next commit)", paths.Database, e.Message);
        _failing = true;
    }
}
