using System.Text.Json;
using FluentValidation;
using Hive.Contracts.Json;
using Hive.Contracts.Questions;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Questions;

/// <summary>
/// An agent asks the operator (no <c>to</c>, or <c>to: "operator"</c>) or a peer agent; optionally with advisory
/// <c>options</c> (several may be chosen when <c>multi</c>) and a deadline, <c>ttl_seconds</c>, after which
/// <see cref="ExpireQuestions"/> resolves it as <c>[expired]</c>.
/// </summary>
public static class AskQuestion
{
    public const int MaxBytes = 1024;
    public const int MaxOptions = 16;
    public const int MaxOptionLength = 200;
    public const long MaxTtlSeconds = 6 * 60 * 60;

    public sealed record Command(
        string Asker, string? To, string? Question, IReadOnlyList<string?>? Options = null, bool Multi = false, long? TtlSeconds = null)
        : IRequest<QuestionView>, IChangesState;

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
            RuleFor(c => c.Options!.Count).LessThanOrEqualTo(MaxOptions).OverridePropertyName("options")
                .WithMessage($"at most {MaxOptions} options").When(c => c.Options is not null);
            RuleForEach(c => c.Options).Must(o => !string.IsNullOrWhiteSpace(o) && o.Length <= MaxOptionLength)
                .WithMessage($"each option is 1 to {MaxOptionLength} characters, not blank");
            RuleFor(c => c.Options).Must(o => o!.Distinct(StringComparer.Ordinal).Count() == o!.Count)
                .WithMessage("options must not repeat").When(c => c.Options is not null);
            // multi chooses among options: without any it would mean nothing, so it is refused rather than ignored.
            RuleFor(c => c.Multi).Equal(false).WithMessage("multi needs options")
                .When(c => c.Multi && c.Options is not { Count: > 0 });
            RuleFor(c => c.TtlSeconds).InclusiveBetween(1, MaxTtlSeconds)
                .WithMessage($"ttl_seconds must be 1 to {MaxTtlSeconds} (6 hours)").When(c => c.TtlSeconds is not null);
        }
    }

    internal sealed class Handler(StateChanges changes, IFileRefScanner fileRefs, TimeProvider clock, IOptions<QuestionsOptions> options,
        Hive.Shared.Search.ISearchIndex search)
        : IRequestHandler<Command, QuestionView>
    {
        public Task<QuestionView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string insert = $"""
                INSERT INTO questions (asker, target, question, asked_at, options, multi, expires_at)
                VALUES (@Asker, @Target, @Question, @AskedAt, @Options, @Multi, @ExpiresAt)
                RETURNING {QuestionRow.Columns};
                """;
            var target = command.To == AgentNames.Operator ? null : command.To;
            var change = changes.Current;
            // Counted inside the change's write transaction (BEGIN IMMEDIATE), so racing asks cannot both take the
            // last place; the partial index questions_pending (asker, id) holds only open questions.
            var max = options.Value.MaxOpenPerAgent;
            // The host's own questions (hive: the watchdog, budgets, the work layer's reviews) are bounded by the rules that ask them.
            if (command.Asker != AgentNames.Hive
                && change.QuerySingle<long>("SELECT count(*) FROM questions WHERE asker = @Asker AND answered_at IS NULL", new { command.Asker }) >= max)
                throw new TooManyException($"you have {max} open questions, the most an agent may have; wait for answers first");
            var now = clock.GetUtcNow();
            var view = change.QuerySingle<QuestionRow>(insert, new
            {
                command.Asker, Target = target, command.Question, AskedAt = now,
                Options = command.Options is { Count: > 0 } offered ? JsonSerializer.Serialize(offered, HiveJson.Options) : null,
                Multi = command.Multi ? 1 : 0,
                ExpiresAt = command.TtlSeconds is { } ttl ? now.AddSeconds(ttl) : (DateTimeOffset?)null,
            }).View(fileRefs);
            change.AfterPublished(search.Wake); // the index reads the question behind the change, from its cursor
            change.Raise(new QuestionAdded(view, QuestionsSql.WaitingOf(change.Connection, command.Asker, change.Transaction),
                QuestionsSql.OpenAfter(change.Connection, view, change.Transaction)));
            return Task.FromResult(view);
        }
    }
}
