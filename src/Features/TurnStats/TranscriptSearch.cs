using Dapper;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Features.TurnStats;

/// <summary>
/// Transcript entries as the search index sees them: the text the agent's program printed, written by the agent (to
/// nobody), at the entry's id. <see cref="AppendTranscript"/> wakes the index after its change and <see cref="TurnRetention"/>
/// removes them in its batches; a <c>truncated</c> marker is the host's words, not the agent's, and is left out.
/// </summary>
internal static class TranscriptSearch
{
    public const string Kind = "transcript";

    /// <summary>The rows the indexer reads, oldest first.</summary>
    internal sealed class Source : ISearchSource
    {
        public IReadOnlyList<string> Kinds => [Kind];

        public IReadOnlyList<SearchRow> ReadAfter(SqliteConnection connection, SqliteTransaction transaction, string kind, long after, int limit) =>
            connection.Query<TranscriptEntryRow>($"SELECT {TranscriptEntryRow.Columns} FROM transcript_entries WHERE id > @after ORDER BY id LIMIT @limit",
                    new { after, limit }, transaction)
                .Select(r => new SearchRow(r.Id, r.Kind == AppendTranscript.Truncated ? null : new SearchEntry(Kind, r.Id, r.Text, r.Agent, null, r.At)))
                .ToList();

        public long LastPosition(SqliteConnection connection, SqliteTransaction transaction, string kind) =>
            IdPositions.Last(connection, transaction, "transcript_entries");

        public SearchBacklog Backlog(SqliteConnection connection, SqliteTransaction transaction, string kind, long after) =>
            IdPositions.Backlog(connection, transaction, "transcript_entries", "at", after);
    }
}
