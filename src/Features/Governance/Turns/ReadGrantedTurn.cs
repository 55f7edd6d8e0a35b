using Dapper;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>One granted turn: whose it was, and whether (and why) it has ended; null when there is no such turn.</summary>
public static class ReadGrantedTurn
{
    public sealed record Query(long TurnId) : IRequest<Turn?>;

    public sealed record Turn(long Id, string Agent, DateTimeOffset GrantedAt, DateTimeOffset? EndedAt, string? EndReason);

    internal sealed class Handler(IDb db) : IRequestHandler<Query, Turn?>
    {
        public async Task<Turn?> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            return await connection.QuerySingleOrDefaultAsync<Turn>(new CommandDefinition(
                "SELECT id, agent, granted_at, ended_at, end_reason FROM governed_turns WHERE id = @TurnId", query, cancellationToken: cancellationToken));
        }
    }
}
