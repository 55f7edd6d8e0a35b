using Dapper;
using FluentValidation;
using Hive.Contracts.TurnStats;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// An agent's turns a page at a time, newest first: keyset on the id (ids are never reused),
/// <c>?before=&lt;id&gt;&amp;limit=&lt;n&gt;</c>. An agent the directory does not know is a 404.
/// </summary>
public static class ListTurns
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public sealed record Query(string Agent, long? Before = null, int Limit = DefaultLimit) : IRequest<IReadOnlyList<TurnView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleFor(q => q.Agent).Must(agents.IsAgent)
                .WithMessage(q => $"no agent named {(q.Agent.Length <= 40 ? q.Agent : q.Agent[..40] + "…")}").WithErrorCode(ErrorCodes.NotFound);
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit);
            RuleFor(q => q.Before).GreaterThan(0).When(q => q.Before is not null);
        }
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<TurnView>>
    {
        public async Task<IReadOnlyList<TurnView>> Handle(Query query, CancellationToken cancellationToken)
        {
            const string sql = $"""
                SELECT {TurnRow.Columns} FROM turns
                WHERE agent = @Agent AND (@Before IS NULL OR id < @Before)
                ORDER BY id DESC
                LIMIT @Limit;
                """;
            using var connection = db.Open();
            var rows = await connection.QueryAsync<TurnRow>(new CommandDefinition(sql, query, cancellationToken: cancellationToken));
            return rows.Select(r => r.View()).ToList();
        }
    }
}
