using System.Text.Json;
using Dapper;
using Hive.Contracts.Json;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Work;

/// <summary>A row of <c>tickets</c>; list columns are JSON text.</summary>
internal sealed record TicketRow(
    long Id, string Title, string Body, string Workflow, string Phase, string? ResumePhase, string? NextPhase, long Priority, string? Assignee,
    DateTimeOffset? ClaimedAt, string? OfferedTo, DateTimeOffset? OfferedAt, string Labels, string Context, string? Submitted, string Ticks,
    long? BlockedQuestionId, long? ReviewQuestionId, string? Reviewer, long? ParentId, string? DiscoveryReason, string CreatedBy,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset PhaseEnteredAt)
{
    public const string Columns = """
        id, title, body, workflow, phase, resume_phase, next_phase, priority, assignee, claimed_at, offered_to, offered_at, labels, context,
        submitted, ticks, blocked_question_id, review_question_id, reviewer, parent_id, discovery_reason, created_by, created_at, updated_at,
        phase_entered_at
        """;

    public string Column => ResumePhase ?? Phase;

    public IReadOnlyList<ContextEntry> ContextEntries => Read<List<ContextEntry>>(Context) ?? [];

    public IReadOnlyList<string> TickList => Read<List<string>>(Ticks) ?? [];

    public IReadOnlyList<string> LabelList => Read<List<string>>(Labels) ?? [];

    public Submission? Submission => Submitted is null ? null : Read<Submission>(Submitted);

    /// <summary>Who worked the ticket last: its assignee, or whoever handed on the last context entry.</summary>
    public string? LastWorker => Assignee ?? ContextEntries.LastOrDefault()?.By;

    public static string Json<T>(T value) => JsonSerializer.Serialize(value, HiveJson.Options);

    private static T? Read<T>(string json) => JsonSerializer.Deserialize<T>(json, HiveJson.Options);
}

/// <summary>Reading tickets and their views, on whatever connection the caller holds (a change's, or a read's).</summary>
internal static class TicketReads
{
    public static TicketRow? Find(SqliteConnection connection, SqliteTransaction? transaction, long id) =>
        connection.QuerySingleOrDefault<TicketRow>($"SELECT {TicketRow.Columns} FROM tickets WHERE id = @id", new { id }, transaction);

    /// <summary>The ticket as the running change has it; none is a <see cref="NotFoundException"/>.</summary>
    public static TicketRow Get(StateChange change, long id) =>
        Find(change.Connection, change.Transaction, id) ?? throw new NotFoundException($"no ticket {id}");

    /// <summary>Raises <c>ticket_changed</c> with the ticket's view as the change has it, and returns the view.</summary>
    public static TicketView RaiseTicketChanged(this StateChange change, TicketRow row, WorkflowCatalog catalog)
    {
        var view = View(change.Connection, change.Transaction, row, catalog);
        change.Raise(new TicketChanged(view));
        return view;
    }

    /// <summary>Views of <paramref name="rows"/>, their dependencies read in one query.</summary>
    public static IReadOnlyList<TicketView> Views(SqliteConnection connection, SqliteTransaction? transaction, IReadOnlyList<TicketRow> rows, WorkflowCatalog catalog)
    {
        if (rows.Count == 0) return [];
        var ids = rows.Select(r => r.Id).ToList();
        var deps = connection.Query<(long TicketId, long DependsOn, string Workflow, string Phase)>("""
            SELECT d.ticket_id, d.depends_on, t.workflow, t.phase FROM ticket_dependencies d JOIN tickets t ON t.id = d.depends_on
            WHERE d.ticket_id IN (SELECT value FROM json_each(@ids)) ORDER BY d.depends_on
            """, new { ids = TicketRow.Json(ids) }, transaction).ToLookup(d => d.TicketId);
        var forecasts = Forecasts.TicketForecasts.Of(connection, transaction, ids);
        return rows.Select(r =>
        {
            var mine = deps[r.Id].ToList();
            var view = View(r, mine.Select(d => d.DependsOn).ToList(),
                mine.Where(d => !catalog.IsTerminal(d.Workflow, d.Phase)).Select(d => d.DependsOn).ToList(), catalog);
            return view with { Forecast = forecasts.GetValueOrDefault(r.Id) };
        }).ToList();
    }

    /// <summary>The phases <paramref name="workflow"/>'s tickets are in, wait for, or return to: what a new version of it must keep.</summary>
    public static IReadOnlyList<string> PhasesInUse(SqliteConnection connection, SqliteTransaction? transaction, string workflow) =>
        connection.Query<string>("""
            SELECT phase FROM tickets WHERE workflow = @workflow UNION SELECT resume_phase FROM tickets WHERE workflow = @workflow AND resume_phase IS NOT NULL
            UNION SELECT next_phase FROM tickets WHERE workflow = @workflow AND next_phase IS NOT NULL
            """, new { workflow }, transaction).AsList();

    public static TicketView View(SqliteConnection connection, SqliteTransaction? transaction, TicketRow row, WorkflowCatalog catalog) =>
        Views(connection, transaction, [row], catalog)[0];

    private static TicketView View(TicketRow r, IReadOnlyList<long> dependsOn, IReadOnlyList<long> waitingOn, WorkflowCatalog catalog) =>
        new(r.Id, r.Title, r.Body, r.Workflow, r.Phase, r.Column, r.ResumePhase is not null, r.BlockedQuestionId, r.NextPhase, (int)r.Priority,
            r.Assignee, r.ClaimedAt, r.OfferedTo, r.OfferedAt, r.LabelList, dependsOn, waitingOn, r.ParentId, r.DiscoveryReason, r.ContextEntries,
            r.TickList, r.Submission, r.ReviewQuestionId is { } q && r.Reviewer is { } who ? new ReviewView(q, who) : null,
            catalog.IsTerminal(r.Workflow, r.Phase), r.CreatedBy, r.CreatedAt, r.UpdatedAt, r.PhaseEnteredAt);
}
