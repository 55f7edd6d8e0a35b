using Dapper;
using FluentValidation;
using Hive.Contracts.Questions;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>
/// Pending questions and the most recently answered, filtered: all, @operator, @peer, or one participant. Both lists
/// are bounded and page by keyset: <c>pending</c> oldest first (<c>?pending_after=&lt;id&gt;&amp;pending_limit=</c>, by id)
/// with <c>pending_total</c>; <c>answered</c> newest answer first (<c>?before=&lt;id&gt;&amp;limit=</c>: the answered
/// question with that id is the cursor, by (answered_at, id), which never changes once answered).
/// </summary>
public static class ListQuestions
{
    public const string All = "all";
    public const string OperatorOnly = "operator";
    public const string PeerOnly = "peer";
    public const int DefaultAnswered = 50;
    public const int MaxAnswered = 500;
    public const int DefaultPendingLimit = 100;

    public sealed record Query(
        string? Filter = All, int Answered = DefaultAnswered, long? Before = null,
        int PendingLimit = DefaultPendingLimit, long? PendingAfter = null) : IRequest<Result>;

    public sealed record Result(IReadOnlyList<QuestionView> Pending, IReadOnlyList<QuestionView> Answered, long PendingTotal);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Filter).Must(f => f is null or All or OperatorOnly or PeerOnly || AgentNames.IsWellFormed(f))
                .WithMessage("filter must be all, operator, peer or an agent name");
            RuleFor(q => q.Answered).InclusiveBetween(0, MaxAnswered);
            RuleFor(q => q.PendingLimit).InclusiveBetween(0, MaxAnswered);
            RuleFor(q => q.Before).GreaterThan(0).When(q => q.Before is not null);
        }
    }

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            // One WHERE for all filters: an agent name matches its questions as asker or target.
            const string where = """
                (@Filter = 'all'
                 OR (@Filter = 'operator' AND target IS NULL)
                 OR (@Filter = 'peer' AND target IS NOT NULL)
                 OR (@Filter NOT IN ('all', 'operator', 'peer') AND (asker = @Filter OR target = @Filter)))
                """;
            const string pending = $"""
                SELECT {QuestionRow.Columns} FROM questions
                WHERE answered_at IS NULL AND (@PendingAfter IS NULL OR id > @PendingAfter) AND {where}
                ORDER BY id LIMIT @PendingLimit;
                """;
            const string pendingTotal = $"SELECT count(*) FROM questions WHERE answered_at IS NULL AND {where};";
            // An unanswered or unknown cursor matches nothing (its answered_at is NULL): the page is empty.
            const string answered = $"""
                SELECT {QuestionRow.Columns} FROM questions
                WHERE answered_at IS NOT NULL AND {where}
                  AND (@Before IS NULL OR (answered_at, id) < (SELECT answered_at, id FROM questions WHERE id = @Before))
                ORDER BY answered_at DESC, id DESC LIMIT @Answered;
                """;
            var args = new { Filter = query.Filter ?? All, query.Answered, query.Before, query.PendingLimit, query.PendingAfter };
            using var connection = db.Open();
            var open = await connection.QueryAsync<QuestionRow>(new CommandDefinition(pending, args, cancellationToken: cancellationToken));
            var total = await connection.QuerySingleAsync<long>(new CommandDefinition(pendingTotal, args, cancellationToken: cancellationToken));
            var done = await connection.QueryAsync<QuestionRow>(new CommandDefinition(answered, args, cancellationToken: cancellationToken));
            return new Result(open.Select(r => r.View(fileRefs)).ToList(), done.Select(r => r.View(fileRefs)).ToList(), total);
        }
    }
}
