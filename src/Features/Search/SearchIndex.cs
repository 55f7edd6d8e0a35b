using System.Runtime.CompilerServices;
using System.Text.Json;
using Dapper;
using Hive.Contracts.Json;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Search;

/// <summary>
/// The index's tables (see <see cref="ISearchIndex"/>): the indexer adds a batch's entries in its transaction, a retention
/// sweep removes its batch's in its own, and a writer's wake reaches the indexer.
/// </summary>
internal sealed class SearchIndex(SearchSignal signal, IEnumerable<ISearchSource> sources) : ISearchIndex
{
    // Two statements per batch whatever its size, the entries passed as one JSON array.
    private const string AddEntriesSql = """
        INSERT INTO search_entries (kind, ref, sender, recipient, at)
        SELECT json_extract(e.value, '$.k'), json_extract(e.value, '$.r'), json_extract(e.value, '$.f'),
               json_extract(e.value, '$.t'), json_extract(e.value, '$.a')
        FROM json_each(@entries) e
        WHERE true -- SQLite needs it before ON CONFLICT in an INSERT ... SELECT
        ON CONFLICT (kind, ref) DO NOTHING
        RETURNING id
        """;

    private const string AddTextsSql = """
        INSERT INTO search_text (rowid, text)
        SELECT s.id, json_extract(e.value, '$.x')
        FROM json_each(@entries) e
        JOIN search_entries s ON s.kind = json_extract(e.value, '$.k') AND s.ref = json_extract(e.value, '$.r')
        WHERE s.id IN (SELECT value FROM json_each(@added))
        """;

    // Per connection, prepared once: the indexer keeps one connection while it catches up, so its batches pay no prepare.
    private readonly ConditionalWeakTable<SqliteConnection, Prepared> _prepared = new();

    private readonly ISearchSource[] _sources = sources.ToArray();

    public void Wake() => signal.Wake();

    /// <summary>Adds entries; one already indexed (same kind and ref) is left as it is.</summary>
    public void Add(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<SearchEntry> entries)
    {
        if (entries.Count == 0) return;
        var json = JsonSerializer.Serialize(entries.Select(e => new Wire(e.Kind, e.Ref, e.Text, e.From, e.To, UtcTimestamp.Format(e.At))));
        var prepared = _prepared.GetValue(connection, c => new Prepared(c));
        // Only the entries this call added get their text: one already indexed (the backfill and a live write met) keeps its own.
        var added = prepared.AddEntries(transaction, json);
        if (added.Count > 0) prepared.AddTexts(transaction, json, JsonSerializer.Serialize(added));
    }

    private sealed class Prepared
    {
        private readonly SqliteCommand _entries, _texts;
        private readonly SqliteParameter _entriesJson, _textsJson, _added;

        public Prepared(SqliteConnection connection)
        {
            _entries = connection.CreateCommand();
            _entries.CommandText = AddEntriesSql;
            _entriesJson = _entries.Parameters.Add("@entries", SqliteType.Text);
            _texts = connection.CreateCommand();
            _texts.CommandText = AddTextsSql;
            _textsJson = _texts.Parameters.Add("@entries", SqliteType.Text);
            _added = _texts.Parameters.Add("@added", SqliteType.Text);
        }

        public List<long> AddEntries(SqliteTransaction transaction, string json)
        {
            _entries.Transaction = transaction;
            _entriesJson.Value = json;
            var ids = new List<long>();
            using var reader = _entries.ExecuteReader();
            while (reader.Read()) ids.Add(reader.GetInt64(0)); // read RETURNING to its end, so the WAL can checkpoint
            return ids;
        }

        public void AddTexts(SqliteTransaction transaction, string json, string added)
        {
            _texts.Transaction = transaction;
            _textsJson.Value = json;
            _added.Value = added;
            _texts.ExecuteNonQuery();
        }
    }

    private sealed record Wire(
        [property: System.Text.Json.Serialization.JsonPropertyName("k")] string Kind,
        [property: System.Text.Json.Serialization.JsonPropertyName("r")] long Ref,
        [property: System.Text.Json.Serialization.JsonPropertyName("x")] string Text,
        [property: System.Text.Json.Serialization.JsonPropertyName("f")] string From,
        [property: System.Text.Json.Serialization.JsonPropertyName("t")] string? To,
        [property: System.Text.Json.Serialization.JsonPropertyName("a")] string At);

    public void Remove(SqliteConnection connection, SqliteTransaction transaction, string kind, IReadOnlyCollection<long> refs)
    {
        if (refs.Count == 0) return;
        // One JSON array, not one parameter per id: a batch is a thousand ids.
        var args = new { kind, refs = JsonSerializer.Serialize(refs) };
        connection.Execute("""
            DELETE FROM search_text WHERE rowid IN (
                SELECT id FROM search_entries WHERE kind = @kind AND ref IN (SELECT value FROM json_each(@refs)));
            DELETE FROM search_entries WHERE kind = @kind AND ref IN (SELECT value FROM json_each(@refs));
            """, args, transaction);
        // A table without AUTOINCREMENT numbers its next row from its greatest id left: when the sweep removed the newest
        // rows, the cursor comes down to what is left, so a row given a removed row's id is still read.
        if (_sources.FirstOrDefault(s => s.Kinds.Contains(kind)) is { } source)
            connection.Execute("UPDATE search_cursors SET position = @last WHERE kind = @kind AND position > @last",
                new { kind, last = source.LastPosition(connection, transaction, kind) }, transaction);
    }
}
