using Dapper;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// One ticket with its history, notes, the tickets discovered from it, and its phase's prompt, done definition and expected
/// outputs (<c>GET /api/tickets/{id}</c>, <c>ticket_show</c>). Inside a change it reads what that change wrote so far.
/// </summary>
public static class ReadTicket
{
    public sealed record Query(long Id) : IRequest<TicketDetail>;

    internal sealed class Handler(IDb db, StateChanges changes, WorkflowCatalog catalog) : IRequestHandler<Query, TicketDetail>
    {
        public Task<TicketDetail> Handle(Query query, CancellationToken cancellationToken)
        {
            if (changes.TryGetCurrent(out var change)) return Task.FromResult(Read(change.Connection, change.Transaction, query.Id));
            using var connection = db.Open();
            return Task.FromResult(Read(connection, null, query.Id));
        }

        private TicketDetail Read(Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction? transaction, long id)
        {
            var row = TicketReads.Find(connection, transaction, id) ?? throw new NotFoundException($"no ticket {id}");
            var history = connection.Query<HistoryRow>(
                "SELECT id, from_phase, to_phase, moved_by, moved_at, gate FROM ticket_history WHERE ticket_id = @id ORDER BY id", new { id }, transaction)
                .Select(h => new HistoryEntry(h.Id, h.FromPhase, h.ToPhase, h.MovedBy, h.MovedAt,
                    h.Gate is null ? null : System.Text.Json.JsonSerializer.Deserialize<GateResult>(h.Gate, Hive.Contracts.Json.HiveJson.Options)))
                .ToList();
            var notes = connection.Query<NoteView>(
                "SELECT id, author, written_at, text FROM ticket_notes WHERE ticket_id = @id ORDER BY id", new { id }, transaction).ToList();
            var children = connection.Query<TicketRow>($"SELECT {TicketRow.Columns} FROM tickets WHERE parent_id = @id ORDER BY id", new { id }, transaction).ToList();
            var phase = catalog.Find(row.Workflow)?.Find(row.Phase);
            return new TicketDetail(TicketReads.View(connection, transaction, row, catalog), history, notes,
                TicketReads.Views(connection, transaction, children, catalog), phase?.Prompt, phase?.DoneDefinition ?? [], phase?.ExpectedOutputs ?? []);
        }
    }

    private sealed record HistoryRow(long Id, string? FromPhase, string ToPhase, string MovedBy, DateTimeOffset MovedAt, string? Gate);
}
