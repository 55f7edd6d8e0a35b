using FluentValidation;
using Hive.Contracts.Questions;
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

    internal sealed class Handler(StateChanges changes, IMediator mediator, TimeProvider clock)
        : IRequestHandler<Command, QuestionView>
    {
        public async Task<QuestionView> Handle(Command command, CancellationToken cancellationToken)
        {
            var asker = changes.Current.QuerySingleOrDefault<string>("SELECT asker FROM questions WHERE id = @Id", command)
                ?? throw new NotFoundException($"no question {command.Id}");
            if (command.By != AgentNames.Operator && command.By != asker)
                throw new ForbiddenException($"question {command.Id} is not yours to cancel: only its asker or the operator may");
            var resolved = await mediator.Send(new ResolveQuestions.Command([command.Id], ResolveQuestions.Cancelled, command.By,
                clock.GetUtcNow()), CancellationToken.None);
            return resolved.SingleOrDefault() ?? throw new ConflictException($"question {command.Id} is already resolved");
        }
    }
}
