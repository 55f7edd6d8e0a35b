using FluentValidation;
using Hive.Contracts.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>
/// A question is answered once: by its target agent over the socket, or by the operator over HTTP (on a peer
/// question that is an override, recorded as <c>answerer: "operator"</c>). The answer reaches the asker's inbox as a
/// message of kind <c>answer</c>, committed in the same transaction as the answer itself. The operator's answer on a
/// peer's behalf is an intervention (it overrides the target's course), recorded in that transaction too.
/// </summary>
public static class AnswerQuestion
{
    public const int MaxBytes = 1024;

    public sealed record Command(long Id, string Answerer, string? Answer) : IRequest<QuestionView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Id).GreaterThan(0);
            RuleFor(c => c.Answer).BoundedText("answer", MaxBytes);
        }
    }

    internal sealed class Handler(StateChanges changes, IMediator mediator, TimeProvider clock)
        : IRequestHandler<Command, QuestionView>
    {
        public async Task<QuestionView> Handle(Command command, CancellationToken cancellationToken)
        {
            var question = changes.Current.QuerySingleOrDefault<QuestionRow>($"SELECT {QuestionRow.Columns} FROM questions WHERE id = @Id", command)
                ?? throw new NotFoundException($"no question {command.Id}");
            if (question.AnsweredAt is not null) throw new ConflictException($"question {command.Id} is already answered");
            if (command.Answerer != AgentNames.Operator && command.Answerer != question.Target)
                throw new ForbiddenException(question.Target is null
                    ? "only the operator answers a question to the operator"
                    : $"only {question.Target} (or the operator) may answer question {command.Id}");

            // Joins this change: the answer and the asker's message commit together.
            var resolved = await mediator.Send(new ResolveQuestions.Command([command.Id], command.Answer!, command.Answerer,
                clock.GetUtcNow(), TellRemovedAsker: true), CancellationToken.None);
            var answered = resolved.SingleOrDefault() ?? throw new ConflictException($"question {command.Id} is already answered");
            if (command.Answerer == AgentNames.Operator && question.Target is { } target && target != AgentNames.Operator)
                await mediator.Send(new RecordIntervention(Actor.Operator, InterventionActions.AnswerForAgent, target, $"question {command.Id} from {question.Asker}",
                    new { question_id = command.Id, answered = false }, new { question_id = command.Id, answered = true }), CancellationToken.None);
            return answered;
        }
    }
}
