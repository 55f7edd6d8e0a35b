using Dapper;
using FluentValidation;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Egress.Record;

/// <summary><c>GET /api/agents/{name}/net?limit=</c>: an agent's last egress attempts, the refused (and failed) first, each part newest first.</summary>
public static class ListAttempts
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public sealed record Query(string Agent, int Limit = DefaultLimit) : IRequest<IReadOnlyList<AttemptView>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleFor(q => q.Agent).Must(agents.IsAgent)
                .WithMessage(q => $"no agent named {(q.Agent.Length <= 40 ? q.Agent : q.Agent[..40] + "…")}").WithErrorCode(ErrorCodes.NotFound);
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).WithName("limit").WithMessage($"limit must be 1 to {MaxLimit}");
        }
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<AttemptView>>
    {
        public async Task<IReadOnlyList<AttemptView>> Handle(Query query, CancellationToken cancellationToken)
        {
            // The last attempts by id, then ordered for reading: what was refused is what an operator looks for.
            const string sql = """
                SELECT id, agent, host, port, method, address, decision, status, reason, bytes_out AS BytesOut, bytes_in AS BytesIn,
                       duration_ms AS DurationMs, started_at AS StartedAt
                FROM (SELECT * FROM egress_attempts WHERE agent = @Agent ORDER BY id DESC LIMIT @Limit)
                ORDER BY decision = 'allowed', id DESC
                """;
            using var connection = db.Open();
            return (await connection.QueryAsync<AttemptView>(new CommandDefinition(sql, query, cancellationToken: cancellationToken))).AsList();
        }
    }
}

public sealed record AttemptView(long Id, string Agent, string Host, long Port, string Method, string? Address, string Decision, long Status,
    string? Reason, long BytesOut, long BytesIn, double DurationMs, DateTimeOffset StartedAt);
