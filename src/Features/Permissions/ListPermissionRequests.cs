using Dapper;
using Hive.Contracts.Permissions;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Permissions;

/// <summary>An agent's permission requests, newest first, a page at a time (<c>before</c> an id): what it asked and who decided.</summary>
public static class ListPermissionRequests
{
    public const int MaxLimit = 500;

    public sealed record Query(string Agent, long? Before, int? Limit) : IRequest<IReadOnlyList<PermissionRequestView>>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<PermissionRequestView>>
    {
        public async Task<IReadOnlyList<PermissionRequestView>> Handle(Query query, CancellationToken cancellationToken)
        {
            if (query.Limit is < 1 or > MaxLimit) throw new Hive.Shared.Errors.BadRequestException($"limit must be 1 to {MaxLimit}");
            using var connection = db.Open();
            var rows = await connection.QueryAsync<PermissionRow>($"""
                SELECT {PermissionRow.Columns} FROM permission_requests
                WHERE agent = @Agent AND (@Before IS NULL OR id < @Before) ORDER BY id DESC LIMIT @limit
                """, new { query.Agent, query.Before, limit = query.Limit ?? 100 });
            return rows.Select(r => r.View()).ToList();
        }
    }
}
