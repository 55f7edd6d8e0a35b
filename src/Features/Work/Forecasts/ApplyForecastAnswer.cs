using Hive.Contracts.Questions;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Work.Forecasts;

/// <summary>
/// The operator answered whether a ticket over its assignee's budget may start: <c>start it</c> (or <c>yes</c>) lets it be
/// offered and claimed as any other; anything else, an expiry or a cancel too, leaves it unstarted while its forecast is
/// above the budget left, and its notes say so. Either way it is not asked again.
/// </summary>
public static class ApplyForecastAnswer
{
    public sealed record Command(QuestionView Question) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, Board board, TimeProvider clock) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var question = command.Question;
            var answer = (question.Answer ?? "").Trim();
            var yes = answer.StartsWith(TicketForecasts.StartIt, StringComparison.OrdinalIgnoreCase) || answer.Equals("yes", StringComparison.OrdinalIgnoreCase);
            var by = question.Answerer ?? AgentNames.Operator;
            var now = clock.GetUtcNow();
            foreach (var id in change.Query<long>("SELECT ticket_id FROM ticket_forecasts WHERE question_id = @Id AND decision IS NULL", question).ToList())
            {
                change.Execute("UPDATE ticket_forecasts SET decision = @decision WHERE ticket_id = @id",
                    new { id, decision = yes ? TicketForecasts.Decisions.Yes : TicketForecasts.Decisions.No });
                var text = yes ? $"may start over its assignee's budget: {by} said yes to its forecast (question {question.Id})"
                    : question.Answer is null ? $"not started: question {question.Id} about its forecast went unanswered; it starts when its forecast fits the budget left"
                    : $"not started: {by} answered \"{answer}\" to its forecast (question {question.Id}); it starts when its forecast fits the budget left";
                change.Execute("INSERT INTO ticket_notes (ticket_id, author, written_at, text) VALUES (@id, @by, @now, @text)", new { id, by, now, text });
                change.RaiseTicketChanged(TicketReads.Get(change, id), catalog);
                change.AfterPublished(board.Poke);
            }
            return Task.FromResult(Unit.Value);
        }
    }

    internal sealed class OnQuestionResolved(IMediator mediator) : INotificationHandler<QuestionResolved>
    {
        public Task Handle(QuestionResolved notification, CancellationToken cancellationToken) =>
            notification.Question.Asker == AgentNames.Hive ? mediator.Send(new Command(notification.Question), cancellationToken) : Task.CompletedTask;
    }
}
