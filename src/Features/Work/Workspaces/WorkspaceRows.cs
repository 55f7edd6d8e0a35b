using Dapper;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Work.Workspaces;

/// <summary>The <c>ticket_workspaces</c> table: each write its own change (the workspaces work outside the board's changes: git is slow).</summary>
internal sealed class WorkspaceRows(IDb db, StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock)
{
    private const string Columns = "ticket_id, agent, repository, branch, host_path, git_dir, base_sha, head_sha, bytes, created_at, measured_at, removed_at";

    /// <summary>The ticket's workspace, live or removed; null when it never had one.</summary>
    public WorkspaceRow? Find(long ticketId)
    {
        using var connection = db.Open();
        return connection.QuerySingleOrDefault<WorkspaceRow>($"SELECT {Columns} FROM ticket_workspaces WHERE ticket_id = @ticketId", new { ticketId });
    }

    /// <summary>The other ticket whose live workspace <paramref name="agent"/> has, if any.</summary>
    public long? OtherOf(string agent, long ticketId)
    {
        using var connection = db.Open();
        return connection.QuerySingleOrDefault<long?>(
            "SELECT ticket_id FROM ticket_workspaces WHERE agent = @agent AND removed_at IS NULL AND ticket_id <> @ticketId", new { agent, ticketId });
    }

    /// <summary>The tickets with a live workspace.</summary>
    public List<long> Live()
    {
        using var connection = db.Open();
        return connection.Query<long>("SELECT ticket_id FROM ticket_workspaces WHERE removed_at IS NULL").AsList();
    }

    /// <summary>The live workspaces, each with its ticket's workflow and phase.</summary>
    public List<(WorkspaceRow Row, string Workflow, string Phase)> Active()
    {
        using var connection = db.Open();
        return connection.Query<WorkspaceRow, TicketPlace, (WorkspaceRow, string, string)>($"""
            SELECT {Prefixed("w")}, t.workflow, t.phase FROM ticket_workspaces w JOIN tickets t ON t.id = w.ticket_id WHERE w.removed_at IS NULL ORDER BY w.ticket_id
            """, (row, place) => (row, place.Workflow, place.Phase), splitOn: "workflow").AsList();
    }

    private sealed record TicketPlace(string Workflow, string Phase);

    private static string Prefixed(string alias) => string.Join(", ", Columns.Split(", ").Select(c => $"{alias}.{c}"));

    /// <summary>Where the ticket is (null: it is gone).</summary>
    public (string Workflow, string Phase)? TicketOf(long ticketId)
    {
        using var connection = db.Open();
        return connection.QuerySingleOrDefault<(string, string)?>("SELECT workflow, phase FROM tickets WHERE id = @ticketId", new { ticketId });
    }

    /// <summary>The ticket's workspace as made (a removed one it had is replaced).</summary>
    public Task SaveAsync(WorkspaceRow made) => RunAsync(change => change.Execute($"""
        INSERT INTO ticket_workspaces ({Columns})
        VALUES (@TicketId, @Agent, @Repository, @Branch, @HostPath, @GitDir, @BaseSha, @HeadSha, @Bytes, @CreatedAt, @MeasuredAt, NULL)
        ON CONFLICT (ticket_id) DO UPDATE SET agent = excluded.agent, repository = excluded.repository,
            branch = excluded.branch, host_path = excluded.host_path, git_dir = excluded.git_dir, base_sha = excluded.base_sha,
            head_sha = NULL, bytes = excluded.bytes, created_at = excluded.created_at, measured_at = excluded.measured_at,
            removed_at = NULL
        """, made));

    /// <summary>Measured again, with the head pushed (if one was).</summary>
    public Task MeasuredAsync(long ticketId, string? pushed, long bytes) => RunAsync(change => change.Execute("""
        UPDATE ticket_workspaces SET head_sha = coalesce(@pushed, head_sha), bytes = @bytes, measured_at = @now WHERE ticket_id = @ticketId
        """, new { ticketId, pushed, bytes, now = clock.GetUtcNow() }));

    /// <summary>Removed now, with the bytes it held.</summary>
    public Task RemovedAsync(long ticketId, long bytes) => RunAsync(change => change.Execute(
        "UPDATE ticket_workspaces SET bytes = @bytes, measured_at = @now, removed_at = @now WHERE ticket_id = @ticketId",
        new { ticketId, bytes, now = clock.GetUtcNow() }));

    private Task RunAsync(Action<StateChange> write) =>
        changes.RunAsync(scopes, (change, _) =>
        {
            write(change);
            return Task.CompletedTask;
        }, CancellationToken.None);
}

/// <summary>A <c>ticket_workspaces</c> row.</summary>
internal sealed record WorkspaceRow(
    long TicketId, string Agent, string Repository, string Branch, string HostPath, string GitDir, string BaseSha, string? HeadSha, long Bytes,
    DateTimeOffset CreatedAt, DateTimeOffset MeasuredAt, DateTimeOffset? RemovedAt)
{
    public WorkspaceView View() =>
        new(TicketId, Agent, Repository, Branch, TicketWorkspaces.InsidePath, HostPath, Bytes, CreatedAt, MeasuredAt, BaseSha, HeadSha, RemovedAt);
}
