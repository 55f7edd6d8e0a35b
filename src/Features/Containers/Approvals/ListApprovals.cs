using Dapper;
using Hive.Contracts.Containers;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>Approvals, newest first: the pending ones (<c>status=pending</c>, the default) or all, paged by id.</summary>
public static class ListApprovals
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 500;

    public sealed record Query(string? Status, long? Before, long? Limit) : IRequest<IReadOnlyList<ApprovalView>>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, IReadOnlyList<ApprovalView>>
    {
        public Task<IReadOnlyList<ApprovalView>> Handle(Query query, CancellationToken cancellationToken)
        {
            var status = query.Status ?? ApprovalStatuses.Pending;
            if (status is not (ApprovalStatuses.Pending or "all")) throw new BadRequestException("status must be pending or all");
            if (query.Limit is < 1 or > MaxLimit) throw new BadRequestException($"limit must be between 1 and {MaxLimit}");
            using var connection = db.Open();
            var rows = connection.Query<ApprovalRow>($"""
                SELECT {ApprovalRow.Columns} FROM approvals
                WHERE (@status = 'all' OR status = @status) AND (@before IS NULL OR id < @before)
                ORDER BY id DESC LIMIT @limit
                """, new { status, before = query.Before, limit = query.Limit ?? DefaultLimit });
            return Task.FromResult<IReadOnlyList<ApprovalView>>(rows.Select(r => r.View()).ToList());
        }
    }
}
