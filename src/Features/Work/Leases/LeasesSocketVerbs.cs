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
        verbs.Map("lease_acquire", async request =>
        {
            var args = request.Bind<AcquireArgs>();
            var result = await request.Mediator.Send(
                new AcquireLease.Command(request.Agent, args.Resource, args.TtlSeconds, args.Exclusive ?? true, args.Reason), request.CancellationToken);
            if (result.Lease is { } lease)
                return new { granted = true, resource = lease.Resource, exclusive = lease.Exclusive, expires_at = lease.ExpiresAt, lease };
            return new { granted = false, resource = args.Resource, conflict = result.Conflict };
        });

        verbs.Map("lease_renew", async request =>
        {
            var args = request.Bind<RenewArgs>();
            var lease = await request.Mediator.Send(new RenewLease.Command(request.Agent, args.Resource, args.TtlSeconds), request.CancellationToken);
            return new { resource = lease.Resource, exclusive = lease.Exclusive, expires_at = lease.ExpiresAt, lease };
        });

        verbs.Map("lease_release", async request =>
        {
            var args = request.Bind<ReleaseArgs>();
            await request.Mediator.Send(new ReleaseLease.Command(args.Resource, request.Agent), request.CancellationToken);
            return new { resource = args.Resource };
        });

        verbs.Map("lease_list", async request =>
            new { leases = await request.Mediator.Send(new ListLeases.Query(), request.CancellationToken) });
    }

    private sealed record AcquireArgs(string? Resource, int? TtlSeconds, bool? Exclusive, string? Reason);

    private sealed record RenewArgs(string? Resource, int? TtlSeconds);

    private sealed record ReleaseArgs(string? Resource);
}
