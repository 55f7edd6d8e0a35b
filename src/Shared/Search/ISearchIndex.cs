using Microsoft.Data.Sqlite;

namespace Hive.Shared.Search;

/// <summary>
/// One searchable text: its <see cref="Kind"/> (<c>message</c>, <c>question</c>, <c>answer</c>, <c>transcript</c>) and
/// the id of the row it came from (<see cref="Ref"/>; a question and its answer share the question's id), who wrote it and
/// to whom (<see cref="To"/> null: nobody in particular), and when.
/// </summary>
public sealed record SearchEntry(string Kind, long Ref, string Text, string From, string? To, DateTimeOffset At);

/// <summary>
/// The full-text index, kept behind its sources: a writer commits its rows without indexing them and wakes the index,
/// whose indexer reads them from the source after its durable cursor (<see cref="ISearchSource"/>). Removal is not behind:
/// a retention sweep removes the index's entries in the transaction that deletes their rows. Declared here because the
/// slices that own the text (Messages, Questions, TurnStats) sit below Search; Search implements it on its own tables,
/// and no slice names another's table.
/// </summary>
public interface ISearchIndex
{
    /// <summary>Says that a source has committed new rows (after the commit: cheap, never blocks, never throws).</summary>
    void Wake();

    /// <summary>Forgets the entries of <paramref name="kind"/> for these source rows (a retention sweep's batch).</summary>
    void Remove(SqliteConnection connection, SqliteTransaction transaction, string kind, IReadOnlyCollection<long> refs);
}

/// <summary>
/// A source row after the indexer's cursor: its <see cref="Position"/> (increasing in commit order: the row's id, or for
/// an answer its answer's sequence number) and its entry, null for a row the index leaves out (a cancelled question's
/// non-answer, a transcript's truncation marker).
/// </summary>
public readonly record struct SearchRow(long Position, SearchEntry? Entry);

/// <summary>What a source holds that the index has not read yet: how many rows, and when the oldest was written.</summary>
public sealed record SearchBacklog(long Count, DateTimeOffset? Oldest);

/// <summary>
/// A slice's indexed texts, as the indexer reads them: per kind, the rows after a position, in position order. Positions
/// of a kind increase in commit order (a writer numbers its rows in its write transaction), so a cursor at the last
/// position read has seen every row at or below it.
/// </summary>
public interface ISearchSource
{
    IReadOnlyList<string> Kinds { get; }

    /// <summary>At most <paramref name="limit"/> rows of <paramref name="kind"/> after <paramref name="after"/>, oldest first.</summary>
    IReadOnlyList<SearchRow> ReadAfter(SqliteConnection connection, SqliteTransaction transaction, string kind, long after, int limit);

    /// <summary>
    /// The greatest position of <paramref name="kind"/> stored (0: none). After a removal the index lowers its cursor to it,
    /// since a table without AUTOINCREMENT numbers its next row from its greatest id left.
    /// </summary>
    long LastPosition(SqliteConnection connection, SqliteTransaction transaction, string kind);

    /// <summary>The rows of <paramref name="kind"/> after <paramref name="after"/>: how many, and the oldest one's time.</summary>
    SearchBacklog Backlog(SqliteConnection connection, SqliteTransaction transaction, string kind, long after);
}

/// <summary>No index (a host without the Search slice): nothing to wake, nothing to forget.</summary>
public sealed class NoSearchIndex : ISearchIndex
{
    public void Wake() { }

    public void Remove(SqliteConnection connection, SqliteTransaction transaction, string kind, IReadOnlyCollection<long> refs) { }
}

/// <summary>
/// The two reads of a source whose positions are its table's ids, for the slice that owns the table (which names it):
/// its greatest id, and its rows after an id with the time of the oldest.
/// </summary>
public static class IdPositions
{
    public static long Last(SqliteConnection connection, SqliteTransaction transaction, string table) =>
        Dapper.SqlMapper.ExecuteScalar<long>(connection, $"SELECT coalesce(max(id), 0) FROM {table}", transaction: transaction);

    public static SearchBacklog Backlog(SqliteConnection connection, SqliteTransaction transaction, string table, string atColumn, long after) =>
        Dapper.SqlMapper.QuerySingle<SearchBacklog>(connection, $"""
            SELECT count(*) AS Count, (SELECT {atColumn} FROM {table} WHERE id > @after ORDER BY id LIMIT 1) AS Oldest
            FROM {table} WHERE id > @after
            """, new { after }, transaction);
}
