using Dapper;
using Hive.Shared.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Data;

/// <summary>
/// Copies the write-ahead log back into the database when a commit has let it grow past <see cref="WalCheckpoints.BackgroundAt"/>
/// frames: off every writer's path (see <see cref="WalCheckpoints"/>). PASSIVE, like SQLite's own automatic checkpoint: it
/// copies what no reader still needs and never waits for a reader or a writer, so a long read only postpones it.
/// <para>
/// SQLite starts the log again only when a writer begins while all of it has been copied, which writers committing
/// every fraction of a millisecond beside a PASSIVE pass never allow: the log would grow through a whole burst. So once
/// it is past <see cref="WalCheckpoints.RestartAt"/> frames, the pass is followed by a RESTART checkpoint, which holds
/// writers off while it copies the little the PASSIVE pass left and waits for the readers of older frames to finish.
/// It does so on a connection of its own that waits at most <see cref="RestartPatience"/> for them (the pooled
/// connections wait 30 s), so a long read (a backup) costs a missed restart, not writers held back behind it. Each
/// attempt holds the writers for that patience at most in waits, plus its copy of what the pass left and two syncs;
/// passes run back to back while the log is long, so after a refused restart the next waits 50 ms, doubling to 2 s
/// while they are refused (a backup's whole read), until one succeeds.
/// </para>
/// A failing checkpoint (a full disk) fails no write, as SQLite's own did not: it is logged once, until one succeeds again.
/// </summary>
public sealed class WalCheckpointer(SqliteDb db, HivePaths paths, TimeProvider clock, ILogger<WalCheckpointer> logger)
    : TriggeredBackgroundService(db.CheckpointWanted, idle: null, passAtStart: false, clock, logger)
{
    private static readonly TimeSpan RestartPatience = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(2);

    private long _checkpoints;
    private long _restarts;
    private long _restartsRefused;
    private long _refusedAt;
    private TimeSpan _backoff = TimeSpan.Zero;
    private bool _failing;
    private SqliteConnection? _restarting;

    /// <summary>Checkpoints that ran to their end since start-up (<c>hive_db_checkpoints_total</c>).</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>RESTART checkpoints that ran to their end: each lets the next writer start the log again (<c>hive_db_log_restarts_total</c>).</summary>
    public long Restarts => Interlocked.Read(ref _restarts);

    /// <summary>RESTART checkpoints that gave up, a reader or a writer holding on past their patience.</summary>
    public long RestartsRefused => Interlocked.Read(ref _restartsRefused);

    protected override Task PassAsync(CancellationToken stoppingToken)
    {
        long log;
        using (var connection = db.Open())
        {
            (var busy, log) = Checkpoint(connection, "PASSIVE");
            if (busy == 0) Interlocked.Increment(ref _checkpoints);
        }
        if (log >= WalCheckpoints.RestartAt && Clock.GetElapsedTime(_refusedAt) >= _backoff)
        {
            _restarting ??= db.OpenUnpooled(RestartPatience);
            if (Checkpoint(_restarting, "RESTART").Busy == 0)
            {
                Interlocked.Increment(ref _restarts);
                _backoff = TimeSpan.Zero;
            }
            else
            {
                Interlocked.Increment(ref _restartsRefused);
                _refusedAt = Clock.GetTimestamp();
                _backoff = _backoff == TimeSpan.Zero ? FirstBackoff : TimeSpan.FromTicks(Math.Min(2 * _backoff.Ticks, LongestBackoff.Ticks));
            }
        }
        if (_failing) Logger.LogInformation("write-ahead log checkpoints of {Database} succeed again", paths.Database);
        _failing = false;
        return Task.CompletedTask;
    }

    /// <summary>SQLite's one row: busy (1: a lock was not had in time, or another checkpoint ran), frames in the log.</summary>
    private static (long Busy, long Log) Checkpoint(SqliteConnection connection, string mode)
    {
        var (busy, log, _) = connection.QuerySingle<(long Busy, long Log, long Copied)>($"PRAGMA wal_checkpoint({mode})");
        return (busy, log);
    }

    protected override void PassFailed(Exception e)
    {
        if (!_failing)
            Logger.LogWarning("a write-ahead log checkpoint of {Database} failed: {Error}; the log grows until one succeeds " +
                "(tried again after the next commit)", paths.Database, e.Message);
        _failing = true;
        _restarting?.Dispose();
        _restarting = null;
    }

    public override void Dispose()
    {
        _restarting?.Dispose();
        base.Dispose();
    }
}
