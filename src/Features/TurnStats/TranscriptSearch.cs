using Dapper;
using Hive.Contracts.TurnStats;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Features.TurnStats;

/// <summary>
/// Transcript entries as the search index sees them: the text the agent's program printed, written by the agent (to
/// nobody). <see cref="AppendTranscript"/> adds them in its change and <see cref="TurnRetention"/> removes them in its
/// batches; a <c>truncated</c> marker is the host's words, not the agent's, and is left out.
/// </summary>
internal static class TranscriptSearch
{
    public const string Kind = "transcript";

    public static SearchEntry? Of(TranscriptEntryView e) =>
        e.Kind == AppendTranscript.Truncated ? null : new SearchEntry(Kind, e.Id, e.Text, e.Agent, null, e.At);

    /// <summary>Every stored entry, for the index's backfill.</summary>
    internal sealed class Source : ISearchSource
    {
        public IReadOnlyList<string> Kinds => [Kind];

        public IEnumerable<SearchEntry> ReadAll(SqliteConnection connection, SqliteTransaction transaction) =>
            connection.Query<TranscriptEntryRow>($"SELECT {TranscriptEntryRow.Columns} FROM transcript_entries ORDER BY id",
                    transaction: transaction, buffered: false)
                .Select(r => Of(r.View())).OfType<SearchEntry>();
    }
}
