using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// The operator moves a ticket on the board (<c>POST /api/tickets/{id}/move</c>, a drag between columns). The move must be
/// one its phase allows, the target column must have room (its WIP limit), and a move forward out of a gated phase must
/// pass the gate with what was last submitted there (ticks and outputs): a refusal says which of these failed and what is
/// missing, and changes nothing (<see cref="TicketMoveRule"/>). Moving a ticket out of a reviewed phase is the operator's
/// review. A blocked ticket moves once its question is answered.
/// </summary>
public static class MoveTicket
{
    public sealed record Command(string By, long Id, string? To) : IRequest<TicketView>, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, TicketMoves moves, TicketFacts facts, Gate gate, IMediator mediator,
        Workspaces.TicketWorkspaces workspaces)
        : IRequestHandler<Command, TicketView>
    {
        public async Task<TicketView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = TicketReads.Get(change, command.Id);
            var workflow = catalog.Get(row.Workflow);
            if (string.IsNullOrWhiteSpace(command.To)) throw new BadRequestException("say where to: {\"to\": \"<phase>\"}");
            var to = workflow.Find(command.To) ?? throw new BadRequestException($"{row.Workflow} has no phase {command.To}");
            var known = facts.For(change, row, to);
            var verdict = TicketMoveRule.Check(workflow, row, to, MoveKind.Operator, command.By, known);
            if (verdict is MoveVerdict.AskGate)
                verdict = TicketMoveRule.Check(workflow, row, to, MoveKind.Operator, command.By, known with { Gate = await CheckGateAsync(row, workflow.Find(row.Phase)!) });
            var moved = await moves.ApplyAsync(change, mediator, row, to, command.By, verdict);
            return TicketReads.View(change.Connection, change.Transaction, moved, catalog);
        }

        /// <summary>The gate of <paramref name="phase"/> against what was last submitted there; nobody's work yet, everything is missing.</summary>
        private async Task<GateResult> CheckGateAsync(TicketRow row, Phase phase)
        {
            var submitted = row.Submission;
            var worker = row.Assignee ?? submitted?.By;
            return worker is null
                ? new GateResult(false, [.. phase.ExpectedOutputs.Select(o => $"{o.Label}: nothing submitted"), .. phase.DoneDefinition.Select(d => $"not ticked: {d}")])
                : await gate.CheckAsync(phase, worker, workspaces.Get(row.Id) is { RemovedAt: null }, row.ClaimedAt,
                    submitted?.Outputs ?? [], submitted?.Summary, row.TickList,
                    (o, _) => Task.FromResult<string?>(submitted?.Gate.Passed == true ? null : "not checked (submit it)"));
        }
    }
}
