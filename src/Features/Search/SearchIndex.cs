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
    // A statement pair per entry, prepared once: linear in the batch. (One INSERT ... SELECT over a JSON array joined back
    // to search_entries was quadratic in it: fine at a group-commit batch of a few sends, seconds at the indexer's 500.)
    // No RETURNING: a statement with RETURNING opens a statement savepoint, and FTS5 flushes its pending terms to a new
    // segment at every savepoint, so each entry would cost a segment and its merges (about four times the CPU a message;
    // docs/benchmarks.md "Search behind the send"). The text takes the entry's id from last_insert_rowid() instead.
    internal const string AddEntrySql = """
        INSERT INTO search_entries (kind, ref, sender, recipient, at) VALUES ($kind, $ref, $sender, $recipient, $at)
        ON CONFLICT (kind, ref) DO NOTHING
        """;

    internal const string AddTextSql = "INSERT INTO search_text (rowid, text) VALUES (last_insert_rowid(), $text)";

    // Per connection, prepared once: the indexer keeps one connection while it catches up, so its batches pay no prepare.
    private readonly ConditionalWeakTable<SqliteConnection, Prepared> _prepared = new();

    private readonly ISearchSource[] _sources = sources.ToArray();

    public void Wake() => signal.Wake();

    /// <summary>Adds entries; one already indexed (same kind and ref) is left as it is, its text too.</summary>
    public void Add(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<SearchEntry> entries)
    {
        if (entries.Count == 0) return;
        var prepared = _prepared.GetValue(connection, c => new Prepared(c));
        foreach (var entry in entries) prepared.Add(transaction, entry);
    }

    private sealed class Prepared
    {
        private readonly SqliteCommand _entry, _text;
        private readonly SqliteParameter _kind, _ref, _sender, _recipient, _at, _body;

        public Prepared(SqliteConnection connection)
        {
            _entry = connection.CreateCommand();
            _entry.CommandText = AddEntrySql;
            _kind = _entry.Parameters.Add("$kind", SqliteType.Text);
            _ref = _entry.Parameters.Add("$ref", SqliteType.Integer);
            _sender = _entry.Parameters.Add("$sender", SqliteType.Text);
            _recipient = _entry.Parameters.Add("$recipient", SqliteType.Text);
            _at = _entry.Parameters.Add("$at", SqliteType.Text);
            _text = connection.CreateCommand();
            _text.CommandText = AddTextSql;
            _body = _text.Parameters.Add("$text", SqliteType.Text);
        }

        public void Add(SqliteTransaction transaction, SearchEntry entry)
        {
            _entry.Transaction = _text.Transaction = transaction;
            (_kind.Value, _ref.Value, _sender.Value, _recipient.Value, _at.Value) =
                (entry.Kind, entry.Ref, entry.From, (object?)entry.To ?? DBNull.Value, UtcTimestamp.Format(entry.At));
            if (_entry.ExecuteNonQuery() == 0) return; // indexed already
            _body.Value = entry.Text;
            _text.ExecuteNonQuery();
        }
    }

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
