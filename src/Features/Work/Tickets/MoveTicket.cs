using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// The operator moves a ticket on the board (<c>POST /api/tickets/{id}/move</c>, a drag between columns). The move must be
/// one its phase allows, the target column must have room (its WIP limit), and a move forward out of a gated phase must
/// pass the gate with what was last submitted there (ticks and outputs): a refusal says which of these failed and what is
/// missing, and changes nothing. Moving a ticket out of a reviewed phase is the operator's review. A blocked ticket moves
/// once its question is answered.
/// </summary>
public static class MoveTicket
{
    public sealed record Command(string By, long Id, string? To) : IRequest<TicketView>, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, TicketMoves moves, Gate gate, IMediator mediator,
        Workspaces.TicketWorkspaces workspaces)
        : IRequestHandler<Command, TicketView>
    {
        public async Task<TicketView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = moves.Reread(change, command.Id);
            var workflow = catalog.Get(row.Workflow);
            if (string.IsNullOrWhiteSpace(command.To)) throw new BadRequestException("say where to: {\"to\": \"<phase>\"}");
            var to = workflow.Find(command.To) ?? throw new BadRequestException($"{row.Workflow} has no phase {command.To}");
            if (row.ResumePhase is not null) throw new ConflictException($"ticket {row.Id} is blocked on question {row.BlockedQuestionId}: answer it first");
            if (to.Name == row.Phase) return TicketReads.View(change.Connection, change.Transaction, row, catalog);
            var phase = workflow.Find(row.Phase);
            if (phase is null)
            {
                // A phase the workflow in force dropped: the operator may take the ticket anywhere (no gate to ask).
                if (to.Side) throw new ConflictException($"{to.Name} is where an agent's question puts a ticket (ticket_block), not a column");
                moves.RefuseIfFull(change, workflow.Name, to);
                return TicketReads.View(change.Connection, change.Transaction, await moves.MoveAsync(change, mediator, row, to.Name, command.By, null), catalog);
            }
            if (to.Side) throw new ConflictException($"{to.Name} is where an agent's question puts a ticket (ticket_block), not a column");
            if (!phase.AllowedTransitions.Contains(to.Name))
                throw new ConflictException($"{phase.Name} moves only to {(phase.AllowedTransitions.Count == 0 ? "nothing (it is terminal)" : string.Join(", ", phase.AllowedTransitions))}");
            moves.RefuseIfFull(change, workflow.Name, to);

            var forward = Index(workflow, to) > Index(workflow, phase);
            var waiting = forward ? moves.WaitingOn(change, row.Id) : [];
            if (waiting.Count > 0)
                throw new ConflictException($"ticket {row.Id} waits for ticket{(waiting.Count > 1 ? "s" : "")} {string.Join(", ", waiting)} to be done");
            GateResult? result = null;
            if (phase.ReviewedBy is not null) result = new GateResult(true, [], $"moved by {command.By}");
            else if (forward && (phase.ExpectedOutputs.Count > 0 || phase.DoneDefinition.Count > 0))
            {
                var submitted = row.Submission;
                var worker = row.Assignee ?? submitted?.By;
                result = worker is null
                    ? new GateResult(false, [.. phase.ExpectedOutputs.Select(o => $"{o.Label}: nothing submitted"), .. phase.DoneDefinition.Select(d => $"not ticked: {d}")])
                    : await gate.CheckAsync(phase, worker, workspaces.Get(row.Id) is { RemovedAt: null }, row.ClaimedAt,
                        submitted?.Outputs ?? [], submitted?.Summary, row.TickList, [],
                        (o, _) => Task.FromResult<string?>(submitted?.Gate.Passed == true ? null : "not checked (submit it)"));
                if (!result.Passed)
                    throw new ConflictException($"the gate of {phase.Name} refuses: {string.Join("; ", result.Missing)}")
                    {
                        Errors = new Dictionary<string, string[]> { ["missing"] = [.. result.Missing] },
                    };
            }
            var moved = await moves.MoveAsync(change, mediator, row, to.Name, command.By, result);
            return TicketReads.View(change.Connection, change.Transaction, moved, catalog);
        }

        private static int Index(Workflow workflow, Phase phase) => workflow.Phases.ToList().IndexOf(phase);
    }
}
