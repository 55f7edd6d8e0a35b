using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Questions;

/// <summary>An agent asks the operator (no <c>to</c>, or <c>to: "operator"</c>) or a peer agent.</summary>
public static class AskQuestion
{
    public const int MaxBytes = 1024;

    public sealed record Command(string Asker, string? To, string? Question) : IRequest<QuestionView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IAgentDirectory agents, IRecipientPolicy recipients)
        {
            RuleFor(c => c.Question).BoundedText("question", MaxBytes);
            RuleFor(c => c.To).Cascade(CascadeMode.Stop)
                .Must((c, to) => to != c.Asker).WithMessage("an agent cannot ask itself")
                .KnownRecipient(agents)
                .AllowedFor(recipients, c => c.Asker)
                .When(c => c.To is not null && c.To != AgentNames.Operator);
        }
    }

    internal sealed class Handler(StateChanges changes, IFileRefScanner fileRefs, TimeProvider clock, IOptions<QuestionsOptions> options)
        : IRequestHandler<Command, QuestionView>
    {
        public Task<QuestionView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string insert = $"""
                INSERT INTO questions (asker, target, question, asked_at)
                VALUES (@Asker, @Target, @Question, @AskedAt)
                RETURNING {QuestionRow.Columns};
                """;
            var target = command.To == AgentNames.Operator ? null : command.To;
            var change = changes.Current;
            // Counted inside the change's write transaction (BEGIN IMMEDIATE), so racing asks cannot both take the
            // last place; the partial index questions_pending (asker, id) holds only open questions.
            var max = options.Value.MaxOpenPerAgent;
            if (change.QuerySingle<long>("SELECT count(*) FROM questions WHERE asker = @Asker AND answered_at IS NULL", new { command.Asker }) >= max)
                throw new TooManyException($"you have {max} open questions, the most an agent may have; wait for answers first");
            var view = change.QuerySingle<QuestionRow>(insert,
                new { command.Asker, Target = target, command.Question, AskedAt = clock.GetUtcNow() }).View(fileRefs);
            change.Raise(new QuestionAdded(view, QuestionsSql.WaitingOf(change.Connection, command.Asker, change.Transaction)));
            return Task.FromResult(view);
        }
    }
}
