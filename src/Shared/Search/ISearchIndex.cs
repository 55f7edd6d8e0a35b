using Microsoft.Data.Sqlite;

namespace Hive.Shared.Search;

/// <summary>
/// One searchable text: its <see cref="Kind"/> (<c>message</c>, <c>question</c>, <c>answer</c>, later <c>transcript</c>) and
/// the id of the row it came from (<see cref="Ref"/>; a question and its answer share the question's id), who wrote it and
/// to whom (<see cref="To"/> null: nobody in particular), and when.
/// </summary>
public sealed record SearchEntry(string Kind, long Ref, string Text, string From, string? To, DateTimeOffset At);

/// <summary>
/// The full-text index, written in the transaction that writes its source rows, so the index and the rows commit (or
/// roll back) together. Declared here because the slices that own the text (Messages, Questions, TurnStats) sit below
/// Search; Search implements it on its own tables, and no slice names another's table.
/// </summary>
public interface ISearchIndex
{
    /// <summary>Adds entries; one already indexed (same kind and ref) is left as it is.</summary>
    void Add(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<SearchEntry> entries);

    /// <summary>Forgets the entries of <paramref name="kind"/> for these source rows (a retention sweep's batch).</summary>
    void Remove(SqliteConnection connection, SqliteTransaction transaction, string kind, IReadOnlyCollection<long> refs);
}

/// <summary>
/// Rows a slice already holds, for the index's one-off backfill (a database older than the index, or a source added
/// later): every entry of <see cref="Kinds"/>, read in the backfill's transaction.
/// </summary>
public interface ISearchSource
{
    IReadOnlyList<string> Kinds { get; }

    IEnumerable<SearchEntry> ReadAll(SqliteConnection connection, SqliteTransaction transaction);
}

/// <summary>No index (a host without the Search slice): writes index nothing.</summary>
public sealed class NoSearchIndex : ISearchIndex
{
    public void Add(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<SearchEntry> entries) { }

    public void Remove(SqliteConnection connection, SqliteTransaction transaction, string kind, IReadOnlyCollection<long> refs) { }
}
