using Dapper;
using Hive.Shared.Data;
using Hive.Shared.Hosting;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Search;

/// <summary>
/// Brings the index up to date behind its writers: woken by a writer's commit (and at start-up, and after
/// <see cref="Idle"/> for a wake that never came), it reads each kind's rows after its cursor in batches and indexes each
/// batch and moves the cursor in one write transaction. A kill between batches leaves the cursor at the last batch
/// committed, so nothing is lost or indexed twice; a row stored while the host was down (or while
/// <see cref="SearchOptions.Indexing"/> was off) is read at the next start.
/// </summary>
internal sealed class SearchIndexer(
    SearchSignal signal, IDb db, SearchIndex index, IEnumerable<ISearchSource> sources, IOptions<SearchOptions> options, TimeProvider clock,
    ILogger<SearchIndexer> logger)
    : TriggeredBackgroundService(signal, Idle, passAtStart: true, clock, logger)
{
    /// <summary>A pass with no wake after this long: a safety net, since every writer wakes the indexer.</summary>
    public static readonly TimeSpan Idle = TimeSpan.FromMinutes(1);

    private readonly (ISearchSource Source, string Kind)[] _kinds =
        sources.SelectMany(s => s.Kinds.Select(k => (s, k))).ToArray();

    /// <summary>Where a kind's indexing has reached: the last source row in the index, moved in each batch's transaction.</summary>
    internal const string MoveCursorSql = """
        INSERT INTO search_cursors (kind, position) VALUES (@kind, @position)
        ON CONFLICT (kind) DO UPDATE SET position = excluded.position
        """;

    private long _indexed;

    /// <summary>Source rows read since start-up (tests and the bench read it).</summary>
    public long Indexed => Interlocked.Read(ref _indexed);

    protected override async Task PassAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Indexing) return;
        await WaitOutBurstAsync(stoppingToken);
        using var connection = db.Open();
        foreach (var (source, kind) in _kinds)
        {
            // After a full batch there may be more: the loop goes on at once, and a writer waits for one batch at most.
            var read = 0;
            do
            {
                if (!HasNew(connection, source, kind)) break;
                using (await db.EnterWriteAsync(stoppingToken)) read = Batch(connection, source, kind);
            }
            while (read == options.Value.BatchSize && !stoppingToken.IsCancellationRequested);
        }
    }

    /// <summary>
    /// Waits until the writers have been quiet for <see cref="SearchOptions.DelayMs"/>, or for at most
    /// <see cref="SearchOptions.MaxDelayMs"/>. The sends of a burst then go into few large batches after it instead of
    /// contending with it for the one write lock (FTS5 pays most per commit, and a batch holds the lock for milliseconds);
    /// a burst longer than the bound is indexed in catch-ups every that long, so search falls behind by at most about that.
    /// </summary>
    private async Task WaitOutBurstAsync(CancellationToken stoppingToken)
    {
        var quiet = TimeSpan.FromMilliseconds(options.Value.DelayMs);
        var started = Clock.GetTimestamp();
        do
        {
            var woken = signal.Take(); // a writer's commit while this waits means the burst goes on
            await Task.Delay(quiet, Clock, stoppingToken);
            if (!woken.IsCompleted) return;
        }
        while (Clock.GetElapsedTime(started).TotalMilliseconds + options.Value.DelayMs < options.Value.MaxDelayMs);
    }

    /// <summary>Whether the source holds rows after the cursor, read without the write lock (a pass with nothing new takes none).</summary>
    private static bool HasNew(SqliteConnection connection, ISearchSource source, string kind)
    {
        using var transaction = connection.BeginTransaction(deferred: true);
        return source.LastPosition(connection, transaction, kind) > CursorOf(connection, transaction, kind);
    }

    /// <returns>Rows read (a full batch: there may be more).</returns>
    private int Batch(SqliteConnection connection, ISearchSource source, string kind)
    {
        using var transaction = connection.BeginTransaction(deferred: false); // the write lock first: no writer commits between the read and the cursor
        var after = CursorOf(connection, transaction, kind);
        var rows = source.ReadAfter(connection, transaction, kind, after, options.Value.BatchSize);
        if (rows.Count == 0) return 0;
        index.Add(connection, transaction, rows.Where(r => r.Entry is not null).Select(r => r.Entry!).ToList());
        connection.Execute(MoveCursorSql, new { kind, position = rows[^1].Position }, transaction);
        transaction.Commit();
        Interlocked.Add(ref _indexed, rows.Count);
        return rows.Count;
    }

    internal static long CursorOf(SqliteConnection connection, SqliteTransaction transaction, string kind) =>
        connection.ExecuteScalar<long?>("SELECT position FROM search_cursors WHERE kind = @kind", new { kind }, transaction) ?? 0;
}

/// <summary>Wakes the indexer when a writer of an indexed kind has committed (through <see cref="ISearchIndex.Wake"/>).</summary>
internal sealed class SearchSignal : WakeSignal;
