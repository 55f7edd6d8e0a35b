using FluentValidation;
using Hive.Contracts.Work;
using Hive.Features.Questions;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// The agent holding a ticket cannot go on without an answer (<c>ticket_block</c>): its question is asked (of the operator,
/// or of <c>to</c>) and the ticket goes to the workflow's side phase, shown blocked in the column it came from (where it
/// keeps its WIP slot and its holder), until the question is answered (<see cref="ApplyQuestionAnswer"/>).
/// </summary>
public static class BlockTicket
{
    public sealed record Command(string Agent, long Id, string? Question, string? To = null, IReadOnlyList<string?>? Options = null)
        : IRequest<TicketView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Question).NotEmpty().WithMessage("say what the ticket is blocked on: question");
    }

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, IMediator mediator, TimeProvider clock)
        : IRequestHandler<Command, TicketView>
    {
        public async Task<TicketView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = TicketReads.Get(change, command.Id);
            SubmitTicket.Holding(row, command.Agent, catalog);
            var workflow = catalog.Get(row.Workflow);
            var side = workflow.SidePhase;
            // Blocked, it keeps its column (and its WIP slot there): no room to ask for.
            var verdict = TicketMoveRule.Check(workflow, row, side, MoveKind.Block, command.Agent, MoveFacts.None);
            if (verdict is not MoveVerdict.Move || side is null) throw TicketMoves.Refusal(verdict);
            var question = await mediator.Send(new AskQuestion.Command(command.Agent, command.To, $"[ticket #{row.Id}] {command.Question}", command.Options), cancellationToken);
            var now = clock.GetUtcNow();
            change.Execute("""
                UPDATE tickets SET phase = @side, resume_phase = phase, blocked_question_id = @question, updated_at = @now WHERE id = @Id
                """, new { side = side.Name, question = question.Id, now, row.Id });
            TicketMoves.History(change, row.Id, row.Phase, side.Name, command.Agent, null, now);
            return change.RaiseTicketChanged(TicketReads.Get(change, row.Id), catalog);
        }
    }
}
