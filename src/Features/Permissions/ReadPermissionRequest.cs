using Dapper;
using Hive.Contracts.Permissions;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Permissions;

/// <summary>One permission request as it stands.</summary>
internal static class ReadPermissionRequest
{
    public sealed record Query(long Id) : IRequest<PermissionRequestView>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, PermissionRequestView>
    {
        public async Task<PermissionRequestView> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var row = await connection.QuerySingleOrDefaultAsync<PermissionRow>(
                $"SELECT {PermissionRow.Columns} FROM permission_requests WHERE id = @Id", query);
            return row?.View() ?? throw new NotFoundException($"no permission request {query.Id}");
        }
    }
}
