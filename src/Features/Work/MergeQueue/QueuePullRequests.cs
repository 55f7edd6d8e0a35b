using Dapper;
using Hive.Contracts.Work;
using Hive.Features.Forge;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Hive.Shared.Mediation;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work.MergeQueue;

/// <summary>
/// On a forge repository the queue keeps a pull request beside each ticket it holds, so the forge shows the change and who
/// made it: opened as the owning agent once the review approved the ticket (the branch is on the forge since its submit),
/// marked merged as the hive once the queue landed it (the queue merges, not the forge). Asked by the queue's loop on each
/// pass, for the entries that lack one, so an approval the host did not finish before it stopped is opened after the
/// restart; a failure is a step (<c>pull_request_failed</c>), tried again in the next life of the host or when the ticket
/// enters the queue again. A plain repository has no pull requests.
/// </summary>
internal sealed class QueuePullRequests(IDb db, TicketWorkspaces workspaces, IServiceScopeFactory scopes, ILogger<QueuePullRequests> logger)
{
    /// <summary>Entries tried and failed in this life (by ticket and when it entered the queue), not tried again until it enters anew.</summary>
    private readonly HashSet<(long, DateTimeOffset)> _failed = [];

    private sealed record Due(
        long TicketId, string Title, string Body, string Repository, string State, DateTimeOffset EnqueuedAt, string ApprovedBy, long? PullNumber,
        string? Agent, string? Branch, string? MergeSha, string? ResultSha);

    public async Task PassAsync(CancellationToken ct)
    {
        List<Due> due;
        using (var connection = db.Open())
            due = connection.Query<Due>("""
                SELECT q.ticket_id, t.title, t.body, q.repository, q.state, q.enqueued_at, q.approved_by, q.pull_number, w.agent, w.branch,
                       q.merge_sha, b.result_sha
                FROM merge_queue q JOIN tickets t ON t.id = q.ticket_id
                LEFT JOIN ticket_workspaces w ON w.ticket_id = q.ticket_id LEFT JOIN merge_batches b ON b.id = q.batch_id
                WHERE (q.pull_number IS NULL AND q.state IN ('queued', 'testing', 'held'))
                   OR (q.pull_number IS NOT NULL AND q.state = 'landed' AND q.pull_merged_at IS NULL)
                ORDER BY q.enqueued_at, q.ticket_id
                """).AsList();
        foreach (var entry in due.Where(e => ForgeGit.IsRepository(e.Repository) && !_failed.Contains((e.TicketId, e.EnqueuedAt))))
        {
            if (ct.IsCancellationRequested) return;
            try
            {
                if (entry.PullNumber is { } number) await MarkMergedAsync(entry, number, ct);
                else await OpenAsync(entry, ct);
            }
            catch (Exception e) when (e is ConflictException or BadRequestException or NotFoundException)
            {
                _failed.Add((entry.TicketId, entry.EnqueuedAt));
                logger.LogWarning("merge queue: the pull request of ticket {Ticket} on {Repository}: {Failure}", entry.TicketId, entry.Repository, e.Message);
                await scopes.SendAsync(new Record(entry.TicketId, MergeSteps.PullRequestFailed, e.Message, null, null, false), ct);
            }
        }
    }

    private async Task OpenAsync(Due entry, CancellationToken ct)
    {
        if (entry.Agent is null || entry.Branch is null) throw new NotFoundException($"ticket {entry.TicketId} has no branch: it never had a workspace");
        var (_, main, _) = await workspaces.FetchBaseAsync(new WorkRepository(entry.Repository, null), ct);
        var body = $"{entry.Body}\n\n---\nHive ticket #{entry.TicketId}, approved by {entry.ApprovedBy}. It lands through the hive's merge queue, which marks this request merged.";
        var pull = await scopes.SendAsync(new PullRequests.Open(entry.Agent, entry.Repository, entry.Branch, main, TicketRules.Clip(entry.Title, 255), body.Trim()), ct);
        await scopes.SendAsync(new Record(entry.TicketId, MergeSteps.PullRequest, $"#{pull.Number} {pull.Url} as {entry.Agent}", pull.Number, pull.Url, false), ct);
    }

    private async Task MarkMergedAsync(Due entry, long number, CancellationToken ct)
    {
        // A ticket whose branch was on the base already has no merge of its own: its batch's last merge holds it.
        var sha = entry.MergeSha ?? entry.ResultSha ?? throw new NotFoundException($"ticket {entry.TicketId} landed, but its merge commit is not known");
        await scopes.SendAsync(new PullRequests.MarkMerged(entry.Repository, number, sha), ct);
        await scopes.SendAsync(new Record(entry.TicketId, MergeSteps.PullRequestMerged, $"#{number} merged by {sha[..12]}", null, null, true), ct);
    }

    /// <summary>What became of a ticket's pull request: its step, and the request opened or marked merged.</summary>
    internal sealed record Record(long TicketId, string Step, string Detail, long? Number, string? Url, bool Merged) : IRequest, IChangesState;

    internal sealed class RecordHandler(StateChanges changes, TimeProvider clock) : IRequestHandler<Record>
    {
        public Task<Unit> Handle(Record record, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            change.Execute("""
                UPDATE merge_queue SET pull_number = COALESCE(@Number, pull_number), pull_url = COALESCE(@Url, pull_url),
                    pull_merged_at = CASE WHEN @Merged THEN @now ELSE pull_merged_at END
                WHERE ticket_id = @TicketId
                """, new { record.Number, record.Url, record.Merged, now, record.TicketId });
            var repository = change.QuerySingle<string>("SELECT repository FROM merge_queue WHERE ticket_id = @TicketId", new { record.TicketId });
            QueueRows.Step(change, repository, null, record.TicketId, record.Step, record.Detail, BatchChanges.Mover, now);
            return Task.FromResult(Unit.Value);
        }
    }
}
