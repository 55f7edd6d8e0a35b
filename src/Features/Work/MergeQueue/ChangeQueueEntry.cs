using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.MergeQueue;

/// <summary>
/// The operator takes a ticket out of its merge queue (<c>remove</c>: it goes back to its review, which the board asks
/// again) or puts a held one back in its place (<c>retry</c>: after the queue could not do its part, say the check could
/// not run). A ticket being tested is left to its batch.
/// </summary>
public static class ChangeQueueEntry
{
    public const string Remove = "remove";
    public const string Retry = "retry";

    public sealed record Command(string By, long TicketId, string Action) : IRequest<MergeQueueEntry>, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, Board board, MergeQueueLoop loop, TimeProvider clock)
        : IRequestHandler<Command, MergeQueueEntry>
    {
        public Task<MergeQueueEntry> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var entry = QueueRows.Entry(change.Connection, change.Transaction, command.TicketId)
                        ?? throw new NotFoundException($"ticket {command.TicketId} never entered a merge queue");
            if (command.Action == Remove)
            {
                if (entry.State == MergeQueueEntry.Testing)
                    throw new ConflictException($"ticket {entry.TicketId} is being tested in batch {entry.BatchId}: remove it once that batch ends");
                if (!MergeQueueEntry.Live.Contains(entry.State)) throw new ConflictException($"ticket {entry.TicketId} is not in the queue: it was {entry.State}");
                change.Execute("UPDATE merge_queue SET state = 'removed', ended_at = @now, reason = @reason WHERE ticket_id = @TicketId",
                    new { now, reason = $"removed by {command.By}", entry.TicketId });
                change.Execute("UPDATE tickets SET next_phase = NULL, updated_at = @now WHERE id = @TicketId", new { now, entry.TicketId });
                QueueRows.Step(change, entry.Repository, entry.BatchId, entry.TicketId, MergeSteps.Removed, "back to its review", command.By, now);
                change.RaiseTicketChanged(TicketReads.Get(change, entry.TicketId), catalog);
                change.AfterPublished(board.Poke);
            }
            else if (command.Action == Retry)
            {
                if (entry.State != MergeQueueEntry.Held)
                    throw new ConflictException($"ticket {entry.TicketId} is {entry.State}, not held: only a held ticket is retried");
                change.Execute("UPDATE merge_queue SET state = 'queued', reason = NULL WHERE ticket_id = @TicketId", new { entry.TicketId });
                QueueRows.Step(change, entry.Repository, null, entry.TicketId, MergeSteps.Retried, "queued again in its place", command.By, now);
                change.AfterPublished(loop.Wake);
            }
            else throw new BadRequestException($"action is {Remove} or {Retry}");
            return Task.FromResult(QueueRows.ViewOf(change.Connection, change.Transaction, entry.TicketId));
        }
    }
}
