using Hive.Contracts.Work;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Work.Reviews;

/// <summary>
/// What a review's verdict does to a ticket in a reviewed phase, in the running change, whether it came as the answer to
/// the review's question or as a review submitted on its diff: <c>approve</c> passes the gate and the ticket moves on (or,
/// where its workflow names a repository, enters the merge queue, which moves it on once it has landed); changes sends it back to its worked phase (offered to its last worker first) with the reviewer's words in its context.
/// </summary>
internal sealed class ReviewOutcomes(WorkflowCatalog catalog, TicketMoves moves, TicketFacts facts, MergeQueue.QueueEntries queue, TimeProvider clock)
{
    /// <summary>The ticket after the verdict; null when its phase has nowhere to send it (it stays).</summary>
    public async Task<TicketRow?> ApplyAsync(StateChange change, IMediator mediator, TicketRow row, bool approve, string comments, string by)
    {
        var workflow = catalog.Get(row.Workflow);
        var phase = workflow.Find(row.Phase)!;
        var verdict = approve ? TicketReviews.Approve : TicketReviews.Changes;
        var context = row.ContextEntries.Append(new ContextEntry(phase.Name, by, clock.GetUtcNow(), $"{verdict}{(comments.Length > 0 ? $": {comments}" : "")}", [])).ToList();
        change.Execute("UPDATE tickets SET context = @context WHERE id = @Id", new { context = TicketRow.Json(context), row.Id });
        row = TicketReads.Get(change, row.Id);
        var gate = new GateResult(approve, approve ? [] : [$"review by {by}: {(comments.Length > 0 ? comments : "changes asked")}"], $"{verdict} by {by}");
        var to = approve ? workflow.NextAfter(phase) : phase.AllowedTransitions.Select(workflow.Find).FirstOrDefault(p => p is { IsWorked: true });
        if (to is null) return null;
        var move = TicketMoveRule.Check(workflow, row, to, MoveKind.Review, by, facts.For(change, row, to) with { Gate = gate });
        // Approved code lands through its repository's merge queue, which moves the ticket on once it has.
        if (approve && workflow.Repository is not null && move is MoveVerdict.Move or MoveVerdict.Queue) return queue.Enter(change, row, workflow, to, by);
        return await moves.ApplyAsync(change, mediator, row, to, by, move);
    }
}
