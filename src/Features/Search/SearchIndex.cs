using Dapper;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Search;

/// <summary>The index the writers call in their own transactions (see <see cref="ISearchIndex"/>).</summary>
internal sealed class SearchIndex : ISearchIndex
{
    public void Add(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<SearchEntry> entries)
    {
        foreach (var e in entries)
        {
            // Already there (the backfill and a live write met): nothing to add.
            var id = connection.QuerySingleOrDefault<long?>("""
                INSERT INTO search_entries (kind, ref, sender, recipient, at) VALUES (@Kind, @Ref, @From, @To, @At)
                ON CONFLICT (kind, ref) DO NOTHING
                RETURNING id
                """, e, transaction);
            if (id is { } rowid)
                connection.Execute("INSERT INTO search_text (rowid, text) VALUES (@rowid, @Text)", new { rowid, e.Text }, transaction);
        }
    }

    public void Remove(SqliteConnection connection, SqliteTransaction transaction, string kind, IReadOnlyCollection<long> refs)
    {
        if (refs.Count == 0) return;
        // One JSON array, not one parameter per id: a batch is a thousand ids.
        var args = new { kind, refs = System.Text.Json.JsonSerializer.Serialize(refs) };
        connection.Execute("""
            DELETE FROM search_text WHERE rowid IN (
                SELECT id FROM search_entries WHERE kind = @kind AND ref IN (SELECT value FROM json_each(@refs)));
            DELETE FROM search_entries WHERE kind = @kind AND ref IN (SELECT value FROM json_each(@refs));
            """, args, transaction);
    }
}
