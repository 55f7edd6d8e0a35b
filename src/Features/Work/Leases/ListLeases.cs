using Dapper;
using Hive.Contracts.Work;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Work.Leases;

/// <summary>Every live lease (<c>lease_list</c>, <c>GET /api/leases</c>, the snapshot's <c>leases</c>), by resource then holder.</summary>
public static class ListLeases
{
    public sealed record Query : IRequest<IReadOnlyList<LeaseView>>;

    internal sealed class Handler(IDb db, TimeProvider clock) : IRequestHandler<Query, IReadOnlyList<LeaseView>>
    {
        public async Task<IReadOnlyList<LeaseView>> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var rows = await connection.QueryAsync<LeaseRow>(new CommandDefinition(
                LeasesSql.Live, new { Now = clock.GetUtcNow() }, cancellationToken: cancellationToken));
            return rows.Select(r => r.View()).ToList();
        }
    }
}
