using Dapper;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Work.MergeQueue;

/// <summary><c>merge_queue</c>: the queue took a step. The dashboard reads the queue again.</summary>
public sealed record MergeQueueChanged(MergeStep Step) : IDashboardEvent<MergeQueuePayload>
{
    public string EventType => "merge_queue";
    public MergeQueuePayload Payload => new(Step);
}

/// <summary>The merge queue's rows: its entries, batches, steps and pauses, read and written in one place.</summary>
internal static class QueueRows
{
    private const string EntryColumns = """
        q.ticket_id, t.title, q.repository, q.workflow, q.state, q.batch_id, q.approved_by, q.enqueued_at, q.ended_at, q.reason, q.files, q.merge_sha, q.pull_number,
        q.pull_url, q.pull_merged_at
        """;

    internal sealed record EntryRow(
        long TicketId, string Title, string Repository, string Workflow, string State, long? BatchId, string ApprovedBy, DateTimeOffset EnqueuedAt,
        DateTimeOffset? EndedAt, string? Reason, JsonList Files, string? MergeSha, long? PullNumber, string? PullUrl, DateTimeOffset? PullMergedAt)
    {
        public MergeQueueEntry View(int? position) =>
            new(TicketId, Title, Repository, State, position, BatchId, ApprovedBy, EnqueuedAt, EndedAt, Reason, Files, MergeSha, PullNumber, PullUrl, PullMergedAt is not null);
    }

    private const string BatchColumns = "id, parent_id, repository, base, base_sha, tickets, state, result_sha, started_at, ended_at, detail, check_tail, check_log";

    private sealed record BatchRow(
        long Id, long? ParentId, string Repository, string Base, string BaseSha, Json<List<long>> Tickets, string State, string? ResultSha,
        DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string? Detail, string? CheckTail, string? CheckLog)
    {
        public MergeBatch View() => new(Id, ParentId, Repository, Base, BaseSha, Tickets.Value ?? [], State, ResultSha, StartedAt, EndedAt, Detail, CheckTail, CheckLog);
    }

    /// <summary>Writes one step and raises its event, in the running change.</summary>
    public static MergeStep Step(StateChange change, string repository, long? batchId, long? ticketId, string step, string detail, string by, DateTimeOffset at)
    {
        var id = change.QuerySingle<long>("""
            INSERT INTO merge_steps (repository, batch_id, ticket_id, step, detail, by, at) VALUES (@repository, @batchId, @ticketId, @step, @detail, @by, @at)
            RETURNING id
            """, new { repository, batchId, ticketId, step, detail, by, at });
        var written = new MergeStep(id, repository, batchId, ticketId, step, detail, by, at);
        change.Raise(new MergeQueueChanged(written));
        return written;
    }

    public static EntryRow? Entry(SqliteConnection connection, SqliteTransaction? transaction, long ticketId) =>
        connection.QuerySingleOrDefault<EntryRow>($"SELECT {EntryColumns} FROM merge_queue q JOIN tickets t ON t.id = q.ticket_id WHERE q.ticket_id = @ticketId",
            new { ticketId }, transaction);

    /// <summary>The live entries of every repository, each repository's queued first in the order they entered.</summary>
    public static List<EntryRow> Live(SqliteConnection connection, SqliteTransaction? transaction) =>
        connection.Query<EntryRow>($"""
            SELECT {EntryColumns} FROM merge_queue q JOIN tickets t ON t.id = q.ticket_id
            WHERE q.state IN ('queued', 'testing', 'held') ORDER BY q.repository, q.enqueued_at, q.ticket_id
            """, transaction: transaction).AsList();

    /// <summary>The live entries, then the last <paramref name="ended"/> that ended, as views (a queued one with its position).</summary>
    public static List<MergeQueueEntry> Views(SqliteConnection connection, SqliteTransaction? transaction, int ended)
    {
        var views = new List<MergeQueueEntry>();
        foreach (var repository in Live(connection, transaction).GroupBy(e => e.Repository))
        {
            var position = 0;
            views.AddRange(repository.Select(e => e.View(e.State == MergeQueueEntry.Queued ? ++position : null)));
        }
        views.AddRange(connection.Query<EntryRow>($"""
            SELECT {EntryColumns} FROM merge_queue q JOIN tickets t ON t.id = q.ticket_id
            WHERE q.state NOT IN ('queued', 'testing', 'held') ORDER BY q.ended_at DESC, q.ticket_id DESC LIMIT @ended
            """, new { ended }, transaction).Select(e => e.View(null)));
        return views;
    }

    /// <summary>One ticket's entry as a view (with its position when queued).</summary>
    public static MergeQueueEntry ViewOf(SqliteConnection connection, SqliteTransaction? transaction, long ticketId) =>
        Views(connection, transaction, ended: 0).FirstOrDefault(e => e.TicketId == ticketId) ?? Entry(connection, transaction, ticketId)!.View(null);

    public static MergeBatch Batch(SqliteConnection connection, SqliteTransaction? transaction, long id) =>
        connection.QuerySingle<BatchRow>($"SELECT {BatchColumns} FROM merge_batches WHERE id = @id", new { id }, transaction).View();

    public static List<MergeBatch> Running(SqliteConnection connection, SqliteTransaction? transaction) =>
        connection.Query<BatchRow>($"SELECT {BatchColumns} FROM merge_batches WHERE state IN ('merging', 'checking', 'pushing') ORDER BY id",
            transaction: transaction).Select(b => b.View()).ToList();

    public static List<MergeBatch> Recent(SqliteConnection connection, SqliteTransaction? transaction, int count) =>
        connection.Query<BatchRow>($"SELECT {BatchColumns} FROM merge_batches ORDER BY id DESC LIMIT @count", new { count }, transaction)
            .Select(b => b.View()).ToList();

    public static List<MergeStep> Steps(SqliteConnection connection, SqliteTransaction? transaction, int count, long? ticketId = null) =>
        connection.Query<MergeStep>("""
            SELECT id, repository, batch_id, ticket_id, step, detail, by, at FROM merge_steps
            WHERE @ticketId IS NULL OR ticket_id = @ticketId ORDER BY id DESC LIMIT @count
            """, new { count, ticketId }, transaction).AsList();

    public static List<MergeQueuePause> Pauses(SqliteConnection connection, SqliteTransaction? transaction) =>
        connection.Query<MergeQueuePause>("SELECT repository, paused_by, paused_at FROM merge_queue_pauses ORDER BY repository", transaction: transaction).AsList();

    /// <summary>The queues as the operator sees them: the live entries and the last 50 that ended, the last 20 batches, the last 100 steps, the pauses.</summary>
    public static MergeQueueView View(SqliteConnection connection, SqliteTransaction? transaction) =>
        new(Views(connection, transaction, ended: 50), Recent(connection, transaction, 20), Steps(connection, transaction, 100), Pauses(connection, transaction));
}
