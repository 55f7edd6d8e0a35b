using Hive.Contracts.Work;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Work.Leases;

/// <summary>The sweep: every lease past its TTL is deleted, in one change with one <c>leases_changed</c>.</summary>
public static class ExpireLeases
{
    /// <returns>How many leases expired.</returns>
    public sealed record Command : IRequest<int>, IChangesState;

    internal sealed class Handler(StateChanges changes, TimeProvider clock) : IRequestHandler<Command, int>
    {
        public Task<int> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var expired = change.Query<LeaseEnded>("DELETE FROM leases WHERE expires_at <= @Now RETURNING resource, holder", new { Now = now });
            if (expired.Count > 0) LeasesSql.RaiseChanged(change, now, "expired", [], expired);
            return Task.FromResult(expired.Count);
        }
    }
}
