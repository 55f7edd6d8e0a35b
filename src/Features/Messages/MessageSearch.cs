using Dapper;
using Hive.Contracts.Messages;
using Hive.Shared.Search;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Messages;

/// <summary>
/// Messages as the search index sees them: the body, between sender and recipient. The writers (group commit,
/// <see cref="AppendMessages"/>) add them and <see cref="MessageRetention"/> removes them, each in its own transaction.
/// </summary>
internal static class MessageSearch
{
    public const string Kind = "message";

    public static SearchEntry Of(MessageView m) => new(Kind, m.Id, m.Body, m.From, m.To, m.SentAt);

    public static SearchEntry Of(MessageRow m) => new(Kind, m.Id, m.Body, m.Sender, m.Recipient, m.SentAt);

    /// <summary>Every stored message, for the index's backfill.</summary>
    internal sealed class Source : ISearchSource
    {
        public IReadOnlyList<string> Kinds => [Kind];

        public IEnumerable<SearchEntry> ReadAll(SqliteConnection connection, SqliteTransaction transaction) =>
            connection.Query<MessageRow>($"SELECT {MessageRow.Columns} FROM messages ORDER BY id", transaction: transaction, buffered: false)
                .Select(Of);
    }
}
