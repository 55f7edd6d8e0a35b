using Hive.Contracts.Work;
using Hive.Shared.Changes;

namespace Hive.Features.Work;

/// <summary>What <see cref="TicketMoveRule"/> needs read from the board, inside the running change: a column's tickets and a ticket's dependencies not done.</summary>
internal sealed class TicketFacts(WorkflowCatalog catalog)
{
    /// <summary>The facts for moving <paramref name="row"/> into <paramref name="to"/> (the gate's finding is added once asked).</summary>
    public MoveFacts For(StateChange change, TicketRow row, Phase? to) =>
        new(to is null ? 0 : Count(change, row.Workflow, to.Name), WaitingOn(change, row.Id));

    /// <summary>The tickets in <paramref name="column"/> (blocked tickets count in the column they came from).</summary>
    public long Count(StateChange change, string workflow, string column) =>
        change.QuerySingle<long>("SELECT count(*) FROM tickets WHERE workflow = @workflow AND coalesce(resume_phase, phase) = @column",
            new { workflow, column });

    /// <summary>The tickets <paramref name="ticket"/> depends on that are not done.</summary>
    public IReadOnlyList<long> WaitingOn(StateChange change, long ticket) =>
        change.Query<(long Id, string Workflow, string Phase)>("""
            SELECT t.id, t.workflow, t.phase FROM ticket_dependencies d JOIN tickets t ON t.id = d.depends_on WHERE d.ticket_id = @ticket ORDER BY t.id
            """, new { ticket }).Where(d => !catalog.IsTerminal(d.Workflow, d.Phase)).Select(d => d.Id).ToList();

    /// <summary>Every workflow's terminal phases as <c>workflow/phase</c> (JSON), for queries that ask whether dependencies are done.</summary>
    public string TerminalPhases() => catalog.PhaseKeys(p => p.Terminal);
}
