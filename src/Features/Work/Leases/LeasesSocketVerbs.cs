using Hive.Contracts.Work;
using Hive.Shared.Socket;

namespace Hive.Features.Work.Leases;

/// <summary>
/// The agents' lease verbs (the socket is the holder): <c>lease_acquire</c>, <c>lease_renew</c>, <c>lease_release</c>,
/// <c>lease_list</c>. A lease someone else holds is not an error: <c>lease_acquire</c> answers <c>granted: false</c> with
/// the <c>conflict</c> (its holder, expiry, kind and reason).
/// </summary>
internal sealed class LeasesSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map(WorkVerbs.LeaseAcquire, async (request, args) =>
        {
            var result = await request.Mediator.Send(
                new AcquireLease.Command(request.Agent, args.Resource, args.TtlSeconds, args.Exclusive ?? true, args.Reason), request.CancellationToken);
            return result.Lease is { } lease
                ? new LeaseAcquireReply(true, lease.Resource, lease.Exclusive, lease.ExpiresAt, lease, null)
                : new LeaseAcquireReply(false, args.Resource, null, null, null, result.Conflict);
        });

        verbs.Map(WorkVerbs.LeaseRenew, async (request, args) =>
        {
            var lease = await request.Mediator.Send(new RenewLease.Command(request.Agent, args.Resource, args.TtlSeconds), request.CancellationToken);
            return new LeaseRenewReply(lease.Resource, lease.Exclusive, lease.ExpiresAt, lease);
        });

        verbs.Map(WorkVerbs.LeaseRelease, async (request, args) =>
        {
            await request.Mediator.Send(new ReleaseLease.Command(args.Resource, request.Agent), request.CancellationToken);
            return new LeaseReleaseReply(args.Resource);
        });

        verbs.Map(WorkVerbs.LeaseList, async (request, _) =>
            new LeaseListReply(await request.Mediator.Send(new ListLeases.Query(), request.CancellationToken)));
    }
}
