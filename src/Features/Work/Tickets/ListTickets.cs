using Dapper;
using Hive.Contracts.Work;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// Tickets, newest first, filtered by workflow, column, assignee or state (<c>GET /api/tickets</c>, <c>ticket_list</c>);
/// done tickets only when asked (<c>done=true</c>), so a long-lived board stays small. Pages with <c>before</c>.
/// </summary>
public static class ListTickets
{
    public const int MaxLimit = 1000;

    public sealed record Query(string? Workflow = null, string? Column = null, string? Assignee = null, bool Done = false, long? Before = null, int? Limit = null)
        : IRequest<IReadOnlyList<TicketView>>;

    internal sealed class Handler(IDb db, WorkflowCatalog catalog) : IRequestHandler<Query, IReadOnlyList<TicketView>>
    {
        public Task<IReadOnlyList<TicketView>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var rows = connection.Query<TicketRow>($"""
                SELECT {TicketRow.Columns} FROM tickets
                WHERE (@Workflow IS NULL OR workflow = @Workflow) AND (@Column IS NULL OR coalesce(resume_phase, phase) = @Column)
                  AND (@Assignee IS NULL OR assignee = @Assignee) AND (@Before IS NULL OR id < @Before)
                  AND (@Done OR (workflow || '/' || phase) NOT IN (SELECT value FROM json_each(@terminal)))
                ORDER BY id DESC LIMIT @limit
                """, new
            {
                query.Workflow, query.Column, query.Assignee, query.Before, query.Done, terminal = catalog.PhaseKeys(p => p.Terminal),
                limit = Math.Clamp(query.Limit ?? MaxLimit, 1, MaxLimit)
            }).ToList();
            return Task.FromResult(TicketReads.Views(connection, null, rows, catalog));
        }
    }
}
