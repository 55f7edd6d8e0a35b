using Dapper;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Messages;

/// <summary>
/// Messages as the search index sees them: the body, between sender and recipient, at the message's id. The writers
/// (group commit, <see cref="AppendMessages"/>, a send to another hive) wake the index after their commit, and
/// <see cref="MessageRetention"/> removes them from it in its own batches.
/// </summary>
internal static class MessageSearch
{
    public const string Kind = "message";

    /// <summary>The rows the indexer reads, oldest first.</summary>
    internal sealed class Source : ISearchSource
    {
        public IReadOnlyList<string> Kinds => [Kind];

        public IReadOnlyList<SearchRow> ReadAfter(SqliteConnection connection, SqliteTransaction transaction, string kind, long after, int limit) =>
            connection.Query<Indexed>("""
                    SELECT id, sender, recipient, body, sent_at AS SentAt FROM messages WHERE id > @after ORDER BY id LIMIT @limit
                    """, new { after, limit }, transaction)
                .Select(m => new SearchRow(m.Id, new SearchEntry(Kind, m.Id, m.Body, m.Sender, m.Recipient, m.SentAt))).ToList();

        public long LastPosition(SqliteConnection connection, SqliteTransaction transaction, string kind) =>
            IdPositions.Last(connection, transaction, "messages");

        public SearchBacklog Backlog(SqliteConnection connection, SqliteTransaction transaction, string kind, long after) =>
            IdPositions.Backlog(connection, transaction, "messages", "sent_at", after);
    }

    private sealed record Indexed(long Id, string Sender, string Recipient, string Body, DateTimeOffset SentAt);
}
