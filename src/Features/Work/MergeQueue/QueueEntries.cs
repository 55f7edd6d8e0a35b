using Hive.Contracts.Work;
using Hive.Shared.Changes;

namespace Hive.Features.Work.MergeQueue;

/// <summary>
/// A ticket entering its repository's merge queue, in the running change of the review that approved it: it waits in its
/// review column for the phase after it (<c>next_phase</c>, which the board does not pull while the queue holds it), unclaimed,
/// with no review asked, and the queue is woken once the change is published.
/// </summary>
internal sealed class QueueEntries(WorkflowCatalog catalog, MergeQueueLoop loop, TimeProvider clock)
{
    /// <summary>SQL: the ticket <c>t</c> is in a merge queue (queued, testing or held).</summary>
    public const string InQueue = "SELECT 1 FROM merge_queue q WHERE q.ticket_id = t.id AND q.state IN ('queued', 'testing', 'held')";

    public TicketRow Enter(StateChange change, TicketRow row, Workflow workflow, Phase to, string approvedBy)
    {
        var now = clock.GetUtcNow();
        change.Execute("""
            UPDATE tickets SET next_phase = @to, assignee = NULL, claimed_at = NULL, review_question_id = NULL, reviewer = NULL, updated_at = @now
            WHERE id = @Id
            """, new { to = to.Name, row.Id, now });
        change.Execute("""
            INSERT INTO merge_queue (ticket_id, repository, workflow, state, approved_by, enqueued_at) VALUES (@Id, @repository, @workflow, 'queued', @approvedBy, @now)
            ON CONFLICT (ticket_id) DO UPDATE SET repository = excluded.repository, workflow = excluded.workflow, state = 'queued', batch_id = NULL,
                approved_by = excluded.approved_by, enqueued_at = excluded.enqueued_at, ended_at = NULL, reason = NULL, files = '[]', merge_sha = NULL,
                pull_number = NULL, pull_url = NULL, pull_merged_at = NULL
            """, new { row.Id, repository = workflow.Repository, workflow = workflow.Name, approvedBy, now });
        QueueRows.Step(change, workflow.Repository!, null, row.Id, MergeSteps.Queued, $"approved by {approvedBy}; lands in {to.Name}", approvedBy, now);
        var waiting = TicketReads.Get(change, row.Id);
        change.RaiseTicketChanged(waiting, catalog);
        change.AfterPublished(loop.Wake);
        return waiting;
    }
}

/// <summary>The steps the queue records (<see cref="MergeStep.Step"/>).</summary>
internal static class MergeSteps
{
    public const string Queued = "queued";
    public const string BatchStarted = "batch_started";
    public const string Merged = "merged";
    public const string AlreadyIn = "already_in";
    public const string Conflict = "conflict";
    public const string CheckStarted = "check_started";
    public const string CheckPassed = "check_passed";
    public const string CheckFailed = "check_failed";
    public const string Bisect = "bisect";
    public const string Pushing = "pushing";
    public const string Landed = "landed";
    public const string Returned = "returned";
    public const string Held = "held";
    public const string Interrupted = "interrupted";
    public const string Removed = "removed";
    public const string Retried = "retried";
    public const string Paused = "paused";
    public const string Resumed = "resumed";
    public const string PullRequest = "pull_request";
    public const string PullRequestMerged = "pull_request_merged";
    public const string PullRequestFailed = "pull_request_failed";
}
