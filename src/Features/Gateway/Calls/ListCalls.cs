using Dapper;
using FluentValidation;
using Hive.Contracts.Gateway;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Gateway.Calls;

/// <summary>An agent's model calls, newest first, a page at a time (<c>?before=&lt;id&gt;</c>), or all the calls of one of its turns.</summary>
public static class ListCalls
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public sealed record Query(string Agent, long? Turn = null, long? Before = null, int Limit = DefaultLimit) : IRequest<IReadOnlyList<CallView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleFor(q => q.Agent).Must(agents.IsAgent)
                .WithMessage(q => $"no agent named {(q.Agent.Length <= 40 ? q.Agent : q.Agent[..40] + "…")}").WithErrorCode(ErrorCodes.NotFound);
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit);
            RuleFor(q => q.Before).GreaterThan(0).When(q => q.Before is not null);
            RuleFor(q => q.Turn).GreaterThan(0).When(q => q.Turn is not null);
        }
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<CallView>>
    {
        public async Task<IReadOnlyList<CallView>> Handle(Query query, CancellationToken cancellationToken)
        {
            const string sql = $"""
                SELECT {CallRow.Columns} FROM model_calls
                WHERE agent = @Agent AND (@Turn IS NULL OR turn_id = @Turn) AND (@Before IS NULL OR id < @Before)
                ORDER BY id DESC LIMIT @Limit
                """;
            using var connection = db.Open();
            var rows = await connection.QueryAsync<CallRow>(new CommandDefinition(sql, query, cancellationToken: cancellationToken));
            return rows.Select(r => r.View()).ToList();
        }
    }
}
