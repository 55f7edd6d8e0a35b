using Hive.Contracts.Questions;
using Hive.Contracts.Work;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Work;

/// <summary>
/// A question the work layer waits on was resolved:
/// <list type="bullet">
/// <item>a blocked ticket's question: the ticket returns to the phase it came from, with its holder (who gets the answer as
/// every asker does), and the answer is noted on the ticket;</item>
/// <item>a review: <c>approve</c> passes the gate and the ticket moves on; <c>changes: …</c> sends it back to its worked
/// phase with the comments in its context (offered to its last worker first); anything else (an expiry, a cancel) leaves
/// it in review, and the board asks again.</item>
/// </list>
/// </summary>
public static class ApplyQuestionAnswer
{
    public sealed record Command(QuestionView Question) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, Reviews.ReviewOutcomes outcomes, IMediator mediator, Board board,
        TimeProvider clock)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var question = command.Question;
            var answer = (question.Answer ?? "").Trim();
            var by = question.Answerer ?? question.Target ?? AgentNames.Operator;
            var now = clock.GetUtcNow();
            var blocked = change.Query<long>("SELECT id FROM tickets WHERE blocked_question_id = @Id", question).ToList();
            foreach (var id in blocked)
            {
                var row = TicketReads.Get(change, id);
                // Back to the phase it came from (a workflow no longer loaded has no say: the answer is not lost).
                if (catalog.Find(row.Workflow) is { } flow && TicketMoveRule.Check(flow, row, null, MoveKind.Answer, by, MoveFacts.None) is not MoveVerdict.Move) continue;
                change.Execute("UPDATE tickets SET phase = resume_phase, resume_phase = NULL, blocked_question_id = NULL, updated_at = @now WHERE id = @id", new { id, now });
                TicketMoves.History(change, id, row.Phase, row.ResumePhase!, by, null, now);
                change.Execute("INSERT INTO ticket_notes (ticket_id, author, written_at, text) VALUES (@id, @by, @now, @text)",
                    new { id, by, now, text = $"answered question {question.Id}: {answer}" });
                change.RaiseTicketChanged(TicketReads.Get(change, id), catalog);
                change.AfterPublished(board.Poke);
            }

            foreach (var id in change.Query<long>("SELECT id FROM tickets WHERE review_question_id = @Id", question).ToList())
            {
                var row = TicketReads.Get(change, id);
                var verdict = Verdict(answer, TicketReviews.Approve) ? TicketReviews.Approve : Verdict(answer, TicketReviews.Changes) ? TicketReviews.Changes : null;
                if (verdict is null)
                {
                    change.Execute("UPDATE tickets SET review_question_id = NULL, reviewer = NULL WHERE id = @id", new { id });
                    change.RaiseTicketChanged(TicketReads.Get(change, id), catalog);
                    change.AfterPublished(board.Poke);
                    continue;
                }
                await outcomes.ApplyAsync(change, mediator, row, verdict == TicketReviews.Approve, answer[verdict.Length..].TrimStart(':', ' ', '-', '\n').Trim(), by);
            }
            return Unit.Value;
        }
    }

    /// <summary>The answer is exactly the verdict, or the verdict then ':' or a space and comments ("approvers would say no" is neither).</summary>
    private static bool Verdict(string answer, string verdict) =>
        answer.StartsWith(verdict, StringComparison.OrdinalIgnoreCase) && (answer.Length == verdict.Length || answer[verdict.Length] is ':' or ' ' or '\n' or '-' or ',');

    /// <summary>Every resolved question is looked up: the work layer's are applied.</summary>
    internal sealed class OnQuestionResolved(IMediator mediator) : INotificationHandler<QuestionResolved>
    {
        public Task Handle(QuestionResolved notification, CancellationToken cancellationToken) =>
            notification.Question.Answer is null ? Task.CompletedTask : mediator.Send(new Command(notification.Question), cancellationToken);
    }
}
