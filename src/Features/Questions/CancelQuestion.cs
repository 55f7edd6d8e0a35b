using FluentValidation;
using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>
/// The operator withdraws an open question, or its asker does (<c>cancel_loose_end</c>): it resolves with
/// <c>[cancelled]</c> by whoever cancelled it, and the asker is told as for any answer (unless it cancelled it itself).
/// A resolved question is a conflict, an unknown one not found, another asker's (for an agent) forbidden.
/// </summary>
public static class CancelQuestion
{
    public sealed record Command(long Id, string By = AgentNames.Operator) : IRequest<QuestionView>, IChangesState;

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
            var asker = change.QuerySingleOrDefault<string>("SELECT asker FROM questions WHERE id = @Id", command)
                ?? throw new NotFoundException($"no question {command.Id}");
            if (command.By != AgentNames.Operator && command.By != asker)
                throw new ForbiddenException($"question {command.Id} is not yours to cancel: only its asker or the operator may");
            // The answered_at guard, in the change's write transaction, is what keeps a racing answer or expiry to one resolution.
            var resolved = change.QuerySingleOrDefault<QuestionRow>(cancel,
                    new { command.Id, Answer = ResolvedQuestions.Cancelled, Answerer = command.By, AnsweredAt = clock.GetUtcNow() })?.View(fileRefs)
                ?? throw new ConflictException($"question {command.Id} is already resolved");

            // An asker removed since it asked has no inbox left; the question still closes.
            if (agents.IsAgent(resolved.Asker) && command.By != resolved.Asker)
                await mediator.Send(new AppendMessages.Command([ResolvedQuestions.AnswerMessage(resolved, command.By)]), CancellationToken.None);
            change.Raise(new QuestionResolved(resolved, QuestionsSql.WaitingOf(change.Connection, resolved.Asker, change.Transaction),
                QuestionsSql.OpenAfter(change.Connection, resolved, change.Transaction)));
            return resolved;
        }
    }
}
