using FluentValidation;
using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>
/// A question is answered once: by its target agent over the socket, or by the operator over HTTP (on a peer
/// question that is an override, recorded as <c>answerer: "operator"</c>). The answer reaches the asker's inbox as a
/// message of kind <c>answer</c>, committed in the same transaction as the answer itself.
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

    internal sealed class Handler(StateChanges changes, IMediator mediator, IFileRefScanner fileRefs, TimeProvider clock)
        : IRequestHandler<Command, QuestionView>
    {
        public async Task<QuestionView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string answer = $"""
                UPDATE questions SET answer = @Answer, answerer = @Answerer, answered_at = @AnsweredAt
                WHERE id = @Id AND answered_at IS NULL
                RETURNING {QuestionRow.Columns};
                """;
            var change = changes.Current;
            var question = change.QuerySingleOrDefault<QuestionRow>($"SELECT {QuestionRow.Columns} FROM questions WHERE id = @Id", command)
                ?? throw new NotFoundException($"no question {command.Id}");
            if (question.AnsweredAt is not null) throw new ConflictException($"question {command.Id} is already answered");
            if (command.Answerer != AgentNames.Operator && command.Answerer != question.Target)
                throw new ForbiddenException(question.Target is null
                    ? "only the operator answers a question to the operator"
                    : $"only {question.Target} (or the operator) may answer question {command.Id}");

            // The change began with BEGIN IMMEDIATE, so racing answers queue and the second sees the first's answer
            // above; the answered_at guard keeps that true whatever the isolation.
            var resolved = change.QuerySingleOrDefault<QuestionRow>(answer,
                    new { command.Id, command.Answer, command.Answerer, AnsweredAt = clock.GetUtcNow() })?.View(fileRefs)
                ?? throw new ConflictException($"question {command.Id} is already answered");

            // Joins this change: the answer and the asker's message commit together.
            await mediator.Send(new AppendMessages.Command([ResolvedQuestions.AnswerMessage(resolved, command.Answerer)]), CancellationToken.None);
            change.Raise(new QuestionResolved(resolved, QuestionsSql.WaitingOf(change.Connection, question.Asker, change.Transaction),
                QuestionsSql.OpenAfter(change.Connection, resolved, change.Transaction)));
            return resolved;
        }
    }
}
