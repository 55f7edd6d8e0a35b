using Hive.Contracts.Work;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Work.MergeQueue;

/// <summary>
/// The merge queues as the operator sees them (<c>GET /api/merge-queue</c>, the board's queue section): the live entries in
/// order and the last 50 that ended, the last 20 batches, the last 100 steps, and the paused repositories.
/// </summary>
public static class ListMergeQueue
{
    public sealed record Query : IRequest<MergeQueueView>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, MergeQueueView>
    {
        public Task<MergeQueueView> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open(); // in the snapshot's read when the dashboard's state is built
            return Task.FromResult(QueueRows.View(connection, null));
        }
    }
}
