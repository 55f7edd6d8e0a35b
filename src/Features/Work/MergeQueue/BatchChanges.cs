using Hive.Contracts.Work;
using Hive.Features.Work.Reviews;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Work.MergeQueue;

/// <summary>
/// What a batch does to the queue, each one change with its steps and events: it starts (its tickets are being tested),
/// records its merges, returns a ticket to be worked, lands, or ends with its tickets queued again or held. Written before
/// the git it stands for is done where that git cannot be undone (the push: <see cref="Mark"/> <c>pushing</c> first), so a
/// restart knows what to look at.
/// </summary>
internal static class BatchChanges
{
    /// <summary>
    /// A batch of <paramref name="TicketIds"/> starts (a half of <paramref name="ParentId"/> when bisecting); those no longer
    /// waiting for it (moved out of review meanwhile) are removed from the queue instead. Answers the batch's id and the
    /// tickets it holds, in order (none: no batch is made).
    /// </summary>
    internal sealed record Start(string Repository, long? ParentId, string Base, string BaseSha, IReadOnlyList<long> TicketIds)
        : IRequest<(long BatchId, IReadOnlyList<(long Id, string Title)> Tickets)>, IChangesState;

    /// <summary>The batch merged <paramref name="Merged"/> (their merge commits, in order; <paramref name="ResultSha"/> the last) and found <paramref name="AlreadyIn"/> on the base already.</summary>
    internal sealed record RecordMerges(long BatchId, IReadOnlyList<(long Ticket, string Sha)> Merged, IReadOnlyList<long> AlreadyIn, string ResultSha) : IRequest, IChangesState;

    /// <summary>The batch moves on to <paramref name="State"/> (<c>checking</c>, <c>pushing</c>) or ends there (<c>red</c>, <c>empty</c>), with what to keep.</summary>
    internal sealed record Mark(long BatchId, string State, string Step, string Detail, string? CheckTail = null, string? CheckLog = null) : IRequest, IChangesState;

    /// <summary>
    /// A ticket goes back to be worked: its branch conflicts with the base (<paramref name="Files"/>) or fails the check. Its
    /// owner gets one <c>merge_returned</c> message with <paramref name="Message"/>.
    /// </summary>
    internal sealed record Return(long? BatchId, long TicketId, string Reason, IReadOnlyList<string> Files, string Message) : IRequest, IChangesState;

    /// <summary>The batch's push advanced the base to its result: its tickets land and move on; each owner gets a <c>merge_landed</c> message.</summary>
    internal sealed record Land(long BatchId) : IRequest, IChangesState;

    /// <summary>
    /// The batch ends unfinished (<c>interrupted</c>, <c>failed</c>, or <c>red</c> and split in two): its tickets still being
    /// tested are queued again, or held for the operator.
    /// </summary>
    internal sealed record Requeue(long BatchId, string State, string Step, string Detail, bool Hold) : IRequest, IChangesState;

    internal const string Mover = AgentNames.Hive;

    internal sealed class StartHandler(StateChanges changes, WorkflowCatalog catalog, TimeProvider clock) : IRequestHandler<Start, (long, IReadOnlyList<(long, string)>)>
    {
        public Task<(long, IReadOnlyList<(long, string)>)> Handle(Start start, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var taken = new List<(long, string)>();
            foreach (var id in start.TicketIds)
            {
                var entry = QueueRows.Entry(change.Connection, change.Transaction, id);
                if (entry is null || entry.Repository != start.Repository || entry.State is not (MergeQueueEntry.Queued or MergeQueueEntry.Testing)) continue;
                var ticket = TicketReads.Find(change.Connection, change.Transaction, id);
                if (ticket is { NextPhase: not null } && catalog.Find(ticket.Workflow)?.Find(ticket.Phase)?.ReviewedBy is not null)
                {
                    taken.Add((id, ticket.Title));
                    continue;
                }
                change.Execute("UPDATE merge_queue SET state = 'removed', ended_at = @now, reason = @reason WHERE ticket_id = @id",
                    new { id, now, reason = "it left its review" });
                QueueRows.Step(change, start.Repository, null, id, MergeSteps.Removed, $"ticket {id} left its review ({ticket?.Phase ?? "gone"})", Mover, now);
            }
            if (taken.Count == 0) return Task.FromResult<(long, IReadOnlyList<(long, string)>)>((0, []));
            var ids = taken.Select(t => t.Item1).ToList();
            var batchId = change.QuerySingle<long>("""
                INSERT INTO merge_batches (parent_id, repository, base, base_sha, tickets, state, started_at)
                VALUES (@ParentId, @Repository, @Base, @BaseSha, @tickets, 'merging', @now) RETURNING id
                """, new { start.ParentId, start.Repository, start.Base, start.BaseSha, tickets = TicketRow.Json(ids), now });
            change.Execute("UPDATE merge_queue SET state = 'testing', batch_id = @batchId WHERE ticket_id IN @ids", new { batchId, ids });
            QueueRows.Step(change, start.Repository, batchId, null, MergeSteps.BatchStarted,
                $"tickets {string.Join(", ", ids)} onto {start.Base} at {start.BaseSha[..12]}{(start.ParentId is { } parent ? $" (a half of batch {parent})" : "")}", Mover, now);
            return Task.FromResult<(long, IReadOnlyList<(long, string)>)>((batchId, taken));
        }
    }

    internal sealed class RecordMergesHandler(StateChanges changes, TimeProvider clock) : IRequestHandler<RecordMerges>
    {
        public Task<Unit> Handle(RecordMerges record, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var batch = QueueRows.Batch(change.Connection, change.Transaction, record.BatchId);
            change.Execute("UPDATE merge_batches SET tickets = @tickets, result_sha = @ResultSha WHERE id = @BatchId",
                new { tickets = TicketRow.Json(record.Merged.Select(m => m.Ticket).Concat(record.AlreadyIn).ToList()), record.ResultSha, record.BatchId });
            foreach (var (ticket, sha) in record.Merged)
            {
                change.Execute("UPDATE merge_queue SET merge_sha = @sha WHERE ticket_id = @ticket", new { sha, ticket });
                QueueRows.Step(change, batch.Repository, batch.Id, ticket, MergeSteps.Merged, $"merged as {sha[..12]}", Mover, now);
            }
            foreach (var ticket in record.AlreadyIn)
                QueueRows.Step(change, batch.Repository, batch.Id, ticket, MergeSteps.AlreadyIn, $"its branch is on {batch.Base} already", Mover, now);
            return Task.FromResult(Unit.Value);
        }
    }

    internal sealed class MarkHandler(StateChanges changes, TimeProvider clock) : IRequestHandler<Mark>
    {
        public Task<Unit> Handle(Mark mark, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var ends = !MergeBatch.Running.Contains(mark.State);
            change.Execute("""
                UPDATE merge_batches SET state = @State, ended_at = CASE WHEN @ends THEN @now END, detail = @Detail,
                    check_tail = COALESCE(@CheckTail, check_tail), check_log = COALESCE(@CheckLog, check_log)
                WHERE id = @BatchId
                """, new { mark.State, ends, now, mark.Detail, mark.CheckTail, mark.CheckLog, mark.BatchId });
            var batch = QueueRows.Batch(change.Connection, change.Transaction, mark.BatchId);
            QueueRows.Step(change, batch.Repository, batch.Id, null, mark.Step, mark.Detail, Mover, now);
            return Task.FromResult(Unit.Value);
        }
    }

    internal sealed class ReturnHandler(StateChanges changes, ReviewOutcomes outcomes, ReviewParties parties, IMediator mediator, TimeProvider clock)
        : IRequestHandler<Return>
    {
        public async Task<Unit> Handle(Return @return, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var entry = QueueRows.Entry(change.Connection, change.Transaction, @return.TicketId)!;
            change.Execute("""
                UPDATE merge_queue SET state = 'returned', ended_at = @now, reason = @Reason, files = @files, merge_sha = NULL WHERE ticket_id = @TicketId
                """, new { now, @return.Reason, files = TicketRow.Json(@return.Files), @return.TicketId });
            QueueRows.Step(change, entry.Repository, @return.BatchId, @return.TicketId, MergeSteps.Returned, @return.Reason, Mover, now);
            change.Execute("UPDATE tickets SET next_phase = NULL WHERE id = @TicketId", new { @return.TicketId });
            var row = TicketReads.Get(change, @return.TicketId);
            await outcomes.ApplyAsync(change, mediator, row, approve: false, TicketRules.Clip(@return.Message, 4096), Mover);
            if (parties.OwnerOf(@return.TicketId) is { } owner)
                await parties.TellAsync(mediator, Mover, [owner], QueueMessages.Returned, @return.Message,
                    new Dictionary<string, object?> { ["ticket_id"] = @return.TicketId, ["batch_id"] = @return.BatchId, ["reason"] = @return.Reason, ["files"] = @return.Files });
            return Unit.Value;
        }
    }

    internal sealed class LandHandler(StateChanges changes, WorkflowCatalog catalog, TicketMoves moves, TicketFacts facts, ReviewParties parties, IMediator mediator,
        TimeProvider clock) : IRequestHandler<Land>
    {
        public async Task<Unit> Handle(Land land, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var batch = QueueRows.Batch(change.Connection, change.Transaction, land.BatchId);
            change.Execute("UPDATE merge_batches SET state = 'landed', ended_at = @now WHERE id = @Id", new { now, batch.Id });
            QueueRows.Step(change, batch.Repository, batch.Id, null, MergeSteps.Landed, $"{batch.Base} is at {batch.ResultSha?[..12]}", Mover, now);
            foreach (var ticketId in batch.Tickets)
            {
                var entry = QueueRows.Entry(change.Connection, change.Transaction, ticketId);
                if (entry is not { State: MergeQueueEntry.Testing }) continue;
                change.Execute("UPDATE merge_queue SET state = 'landed', ended_at = @now, reason = NULL WHERE ticket_id = @ticketId", new { now, ticketId });
                var sha = entry.MergeSha ?? batch.ResultSha!;
                QueueRows.Step(change, batch.Repository, batch.Id, ticketId, MergeSteps.Landed, $"on {batch.Base} as {sha[..12]}", Mover, now);
                var row = TicketReads.Get(change, ticketId);
                var workflow = catalog.Get(row.Workflow);
                if (row.NextPhase is { } next && workflow.Find(next) is { } to)
                {
                    var gate = new GateResult(true, [], $"landed on {batch.Base} as {sha[..12]}");
                    var verdict = TicketMoveRule.Check(workflow, row, to, MoveKind.Review, Mover, facts.For(change, row, to) with { Gate = gate });
                    if (verdict is MoveVerdict.Move) await moves.MoveAsync(change, mediator, row, to.Name, Mover, gate);
                }
                if (parties.OwnerOf(ticketId) is { } owner)
                    await parties.TellAsync(mediator, Mover, [owner], QueueMessages.Landed, $"ticket #{ticketId} landed on {batch.Base} as {sha[..12]} ({batch.Repository})",
                        new Dictionary<string, object?> { ["ticket_id"] = ticketId, ["batch_id"] = batch.Id, ["merge_sha"] = sha, ["base"] = batch.Base });
            }
            return Unit.Value;
        }
    }

    internal sealed class RequeueHandler(StateChanges changes, TimeProvider clock) : IRequestHandler<Requeue>
    {
        public Task<Unit> Handle(Requeue requeue, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var batch = QueueRows.Batch(change.Connection, change.Transaction, requeue.BatchId);
            change.Execute("UPDATE merge_batches SET state = @State, ended_at = @now, detail = @Detail WHERE id = @Id", new { requeue.State, now, requeue.Detail, batch.Id });
            QueueRows.Step(change, batch.Repository, batch.Id, null, requeue.Step, requeue.Detail, Mover, now);
            var testing = change.Query<long>("SELECT ticket_id FROM merge_queue WHERE batch_id = @Id AND state = 'testing'", new { batch.Id });
            change.Execute("""
                UPDATE merge_queue SET state = @state, batch_id = NULL, merge_sha = NULL, reason = @reason WHERE batch_id = @Id AND state = 'testing'
                """, new { state = requeue.Hold ? MergeQueueEntry.Held : MergeQueueEntry.Queued, reason = requeue.Hold ? requeue.Detail : null, batch.Id });
            foreach (var ticketId in testing)
                QueueRows.Step(change, batch.Repository, batch.Id, ticketId, requeue.Hold ? MergeSteps.Held : MergeSteps.Queued,
                    requeue.Hold ? requeue.Detail : $"queued again: {requeue.Detail}", Mover, now);
            return Task.FromResult(Unit.Value);
        }
    }
}

/// <summary>The messages the queue sends a ticket's owner.</summary>
internal static class QueueMessages
{
    /// <summary>The ticket's branch landed on its repository's base.</summary>
    public const string Landed = "merge_landed";

    /// <summary>The ticket went back to be worked: its branch conflicts with the base, or the check fails with it.</summary>
    public const string Returned = "merge_returned";
}
