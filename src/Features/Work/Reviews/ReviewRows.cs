using Dapper;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Work.Reviews;

/// <summary>The <c>review_comments</c> and <c>review_decisions</c> tables, read in the caller's connection (a change's, or a read's own).</summary>
internal static class ReviewRows
{
    private const string CommentColumns =
        "id, ticket_id, parent_id, author, path, side, start_line, line, quoted, head_sha, text, written_at, resolved_by, resolved_commit, resolved_at";

    public sealed record CommentRow(
        long Id, long TicketId, long? ParentId, string Author, string? Path, string? Side, long? StartLine, long? Line, string? Quoted, string? HeadSha,
        string Text, DateTimeOffset WrittenAt, string? ResolvedBy, string? ResolvedCommit, DateTimeOffset? ResolvedAt)
    {
        public ReviewComment View(bool touched = false) => new(Id, TicketId, ParentId, Author, Path, Side, (int?)StartLine, (int?)Line, Quoted, HeadSha, Text,
            WrittenAt, ResolvedBy, ResolvedCommit, ResolvedAt, touched);
    }

    public static CommentRow? Comment(SqliteConnection connection, SqliteTransaction? transaction, long id) =>
        connection.QuerySingleOrDefault<CommentRow>($"SELECT {CommentColumns} FROM review_comments WHERE id = @id", new { id }, transaction);

    public static List<CommentRow> Comments(SqliteConnection connection, SqliteTransaction? transaction, long ticketId) =>
        connection.Query<CommentRow>($"SELECT {CommentColumns} FROM review_comments WHERE ticket_id = @ticketId ORDER BY id", new { ticketId }, transaction).AsList();

    public static List<ReviewDecision> Decisions(SqliteConnection connection, SqliteTransaction? transaction, long ticketId) =>
        connection.Query<ReviewDecision>(
            "SELECT id, ticket_id, reviewer, verdict, body, head_sha, submitted_at FROM review_decisions WHERE ticket_id = @ticketId ORDER BY id",
            new { ticketId }, transaction).AsList();

    /// <summary>Saves a comment (or a reply) in the running change; its row as saved.</summary>
    public static CommentRow Insert(StateChange change, CommentRow draft)
    {
        var id = change.QuerySingle<long>("""
            INSERT INTO review_comments (ticket_id, parent_id, author, path, side, start_line, line, quoted, head_sha, text, written_at)
            VALUES (@TicketId, @ParentId, @Author, @Path, @Side, @StartLine, @Line, @Quoted, @HeadSha, @Text, @WrittenAt) RETURNING id
            """, draft);
        return Comment(change.Connection, change.Transaction, id)!;
    }

    /// <summary>The thread a comment belongs to: its first comment's id.</summary>
    public static long ThreadOf(CommentRow comment) => comment.ParentId ?? comment.Id;

    /// <summary>The open (unresolved) threads of a ticket: their first comments.</summary>
    public static List<CommentRow> Open(StateChange change, long ticketId) =>
        change.Query<CommentRow>($"SELECT {CommentColumns} FROM review_comments WHERE ticket_id = @ticketId AND parent_id IS NULL AND resolved_at IS NULL ORDER BY id",
            new { ticketId });
}
