using Dapper;
using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Questions;

/// <summary>Pending questions and the most recently answered, filtered: all, @operator, @peer, or one participant.</summary>
public static class ListQuestions
{
    public const string All = "all";
    public const string OperatorOnly = "operator";
    public const string PeerOnly = "peer";
    public const int DefaultAnswered = 50;
    public const int MaxAnswered = 500;

    public sealed record Query(string? Filter = All, int Answered = DefaultAnswered) : IRequest<Result>;

    public sealed record Result(IReadOnlyList<QuestionView> Pending, IReadOnlyList<QuestionView> Answered);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Filter).Must(f => f is null or All or OperatorOnly or PeerOnly || AgentNames.IsWellFormed(f))
                .WithMessage("filter must be all, operator, peer or an agent name");
            RuleFor(q => q.Answered).InclusiveBetween(0, MaxAnswered);
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
            const string pending = $"SELECT {QuestionRow.Columns} FROM questions WHERE answered_at IS NULL AND {where} ORDER BY id;";
            const string answered = $"SELECT {QuestionRow.Columns} FROM questions WHERE answered_at IS NOT NULL AND {where} ORDER BY answered_at DESC, id DESC LIMIT @Answered;";
            var args = new { Filter = query.Filter ?? All, query.Answered };
            using var connection = db.Open();
            var open = await connection.QueryAsync<QuestionRow>(new CommandDefinition(pending, args, cancellationToken: cancellationToken));
            var done = await connection.QueryAsync<QuestionRow>(new CommandDefinition(answered, args, cancellationToken: cancellationToken));
            return new Result(open.Select(r => r.View(fileRefs)).ToList(), done.Select(r => r.View(fileRefs)).ToList());
        }
    }
}
