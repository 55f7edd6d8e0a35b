using Hive.Contracts.Work;
using MediatR;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// <c>GET /api/tickets/{id}/diff</c> (and <c>review_show</c>): a ticket's branch against the commit it started from, as
/// review reads it (<see cref="TicketDiffs"/>): each file changed and the unified patch, cut at <see cref="MaxPatchBytes"/>.
/// </summary>
public static class ReadTicketDiff
{
    public const int MaxPatchBytes = 1024 * 1024;

    public sealed record Query(long TicketId) : IRequest<TicketDiff>;

    internal sealed class Handler(TicketDiffs diffs) : IRequestHandler<Query, TicketDiff>
    {
        public async Task<TicketDiff> Handle(Query query, CancellationToken cancellationToken)
        {
            var diff = await diffs.ReadAsync(query.TicketId, cancellationToken);
            return System.Text.Encoding.UTF8.GetByteCount(diff.Patch) <= MaxPatchBytes
                ? diff
                : diff with { Patch = diff.Patch[..Math.Min(diff.Patch.Length, MaxPatchBytes)], Truncated = true };
        }
    }
}
