using Dapper;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>The agent's turn that is granted and not yet ended; null when it is between turns.</summary>
public static class ReadRunningTurn
{
    public sealed record Query(string Agent) : IRequest<ReadGrantedTurn.Turn?>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, ReadGrantedTurn.Turn?>
    {
        public async Task<ReadGrantedTurn.Turn?> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            return await connection.QueryFirstOrDefaultAsync<ReadGrantedTurn.Turn>(new CommandDefinition("""
                SELECT id, agent, granted_at, ended_at, end_reason FROM governed_turns WHERE agent = @Agent AND ended_at IS NULL ORDER BY id DESC LIMIT 1
                """, query, cancellationToken: cancellationToken));
        }
    }
}
