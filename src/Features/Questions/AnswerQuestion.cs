using Dapper;
using FluentValidation;
using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Data;
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

    public sealed record Command(long Id, string Answerer, string? Answer) : IRequest<QuestionView>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Id).GreaterThan(0);
            RuleFor(c => c.Answer).BoundedText("answer", MaxBytes);
        }
    }

    internal sealed class Handler(IDb db, IMediator mediator, IFileRefScanner fileRefs, TimeProvider clock)
        : IRequestHandler<Command, QuestionView>
    {
        public async Task<QuestionView> Handle(Command command, CancellationToken cancellationToken)
        {
            QuestionRow question;
            using (var connection = db.Open())
                question = connection.Query<QuestionRow>($"SELECT {QuestionRow.Columns} FROM questions WHERE id = @Id", command).SingleOrDefault()
                    ?? throw new NotFoundException($"no question {command.Id}");
            if (question.AnsweredAt is not null) throw new ConflictException($"question {command.Id} is already answered");
            if (command.Answerer != AgentNames.Operator && command.Answerer != question.Target)
                throw new ForbiddenException(question.Target is null
                    ? "only the operator answers a question to the operator"
                    : $"only {question.Target} (or the operator) may answer question {command.Id}");

            var answeredAt = clock.GetUtcNow();
            QuestionView? resolved = null;
            await mediator.Send(new AppendMessage.Command(
                command.Answerer, question.Asker, MessageKinds.Answer, command.Answer!,
                new Dictionary<string, object?>
                {
                    ["question_id"] = question.Id,
                    ["question"] = question.Question,
                    ["answerer"] = command.Answerer,
                    ["answer_refs"] = fileRefs.Scan(command.Answer),
                },
                (connection, transaction, _) =>
                {
                    // Guarded by answered_at IS NULL: of two racing answers exactly one commits, the other is a 409.
                    var row = connection.Query<QuestionRow>($"""
                        UPDATE questions SET answer = @Answer, answerer = @Answerer, answered_at = @AnsweredAt
                        WHERE id = @Id AND answered_at IS NULL
                        RETURNING {QuestionRow.Columns};
                        """, new { command.Id, command.Answer, command.Answerer, AnsweredAt = answeredAt }, transaction).SingleOrDefault()
                        ?? throw new ConflictException($"question {command.Id} is already answered");
                    resolved = row.View(fileRefs);
                    var waiting = QuestionsSql.WaitingOf(connection, question.Asker, transaction);
                    return Task.FromResult<IReadOnlyList<INotification>>([new QuestionResolved(resolved, waiting)]);
                }), cancellationToken);
            return resolved!;
        }
    }
}
