using Dapper;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Governance.Spend;

/// <summary>
/// What the gateway metered for some turns (<see cref="ChargeModelCall"/>'s sums): per turn, its metered calls and their
/// cost. A turn with no metered call has no known cost here (its agent's own report is a claim, not a meter).
/// </summary>
public static class ReadTurnSpend
{
    public sealed record Query(IReadOnlyList<long> TurnIds) : IRequest<IReadOnlyDictionary<long, TurnSpend>>;

    public sealed record TurnSpend(long TurnId, long MeteredCalls, double MeteredCostUsd);

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyDictionary<long, TurnSpend>>
    {
        public async Task<IReadOnlyDictionary<long, TurnSpend>> Handle(Query query, CancellationToken cancellationToken)
        {
            if (query.TurnIds.Count == 0) return new Dictionary<long, TurnSpend>();
            using var connection = db.Open();
            var rows = await connection.QueryAsync<TurnSpend>(new CommandDefinition("""
                SELECT id AS TurnId, metered_calls AS MeteredCalls, metered_cost_usd AS MeteredCostUsd
                FROM governed_turns WHERE id IN (SELECT value FROM json_each(@ids))
                """, new { ids = System.Text.Json.JsonSerializer.Serialize(query.TurnIds) }, cancellationToken: cancellationToken));
            return rows.ToDictionary(r => r.TurnId);
        }
    }
}
