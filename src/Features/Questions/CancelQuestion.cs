using FluentValidation;
using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>
/// The operator withdraws an open question: it resolves with <c>[cancelled]</c> by <c>operator</c> and the asker is told
/// as for any answer. A resolved question is a conflict, an unknown one not found.
/// </summary>
public static class CancelQuestion
{
    public sealed record Command(long Id) : IRequest<QuestionView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Id).GreaterThan(0);
    }

    internal sealed class Handler(StateChanges changes, IMediator mediator, IAgentDirectory agents, IFileRefScanner fileRefs, TimeProvider clock)
        : IRequestHandler<Command, QuestionView>
    {
        public async Task<QuestionView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string cancel = $"""
                UPDATE questions SET answer = @Answer, answerer = @Answerer, answered_at = @AnsweredAt
                WHERE id = @Id AND answered_at IS NULL
                RETURNING {QuestionRow.Columns};
                """;
            var change = changes.Current;
            if (change.QuerySingleOrDefault<long?>("SELECT id FROM questions WHERE id = @Id", command) is null)
                throw new NotFoundException($"no question {command.Id}");
            // The answered_at guard, in the change's write transaction, is what keeps a racing answer or expiry to one resolution.
            var resolved = change.QuerySingleOrDefault<QuestionRow>(cancel,
                    new { command.Id, Answer = ResolvedQuestions.Cancelled, Answerer = AgentNames.Operator, AnsweredAt = clock.GetUtcNow() })?.View(fileRefs)
                ?? throw new ConflictException($"question {command.Id} is already resolved");

            // An asker removed since it asked has no inbox left; the question still closes.
            if (agents.IsAgent(resolved.Asker))
                await mediator.Send(new AppendMessages.Command([ResolvedQuestions.AnswerMessage(resolved, AgentNames.Operator)]), CancellationToken.None);
            change.Raise(new QuestionResolved(resolved, QuestionsSql.WaitingOf(change.Connection, resolved.Asker, change.Transaction)));
            return resolved;
        }
    }
}
