using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// The agent holding a ticket gives it back (<c>ticket_release</c>), or the operator takes it from its holder
/// (<c>POST /api/tickets/{id}/release</c>): it stays in its phase, unclaimed, with its ticks and notes, and the board offers
/// it again.
/// </summary>
public static class ReleaseTicket
{
    public sealed record Command(string By, long Id, bool ByOperator = false) : IRequest<TicketView>, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, Board board, TimeProvider clock) : IRequestHandler<Command, TicketView>
    {
        public Task<TicketView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = TicketReads.Get(change, command.Id);
            if (!command.ByOperator && row.Assignee != command.By) throw new ConflictException($"ticket {row.Id} is held by {row.Assignee ?? "nobody"}, not {command.By}");
            if (row.Assignee is null) return Task.FromResult(TicketReads.View(change.Connection, change.Transaction, row, catalog));
            var now = clock.GetUtcNow();
            change.Execute("UPDATE tickets SET assignee = NULL, claimed_at = NULL, updated_at = @now WHERE id = @Id", new { row.Id, now });
            change.Execute("INSERT INTO ticket_notes (ticket_id, author, written_at, text) VALUES (@Id, @By, @now, @text)",
                new { row.Id, command.By, now, text = $"released {row.Assignee}'s claim" });
            change.AfterPublished(board.Poke);
            return Task.FromResult(change.RaiseTicketChanged(TicketReads.Get(change, row.Id), catalog));
        }
    }
}
