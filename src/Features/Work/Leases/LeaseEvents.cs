using Hive.Contracts.Work;
using Hive.Shared.Dashboard;

namespace Hive.Features.Work.Leases;

/// <summary>
/// The live leases changed (granted, renewed, released, broken by the operator, expired, or released because the
/// holder's process ended): what this change granted or renewed (<c>leases</c>), what ended (<c>ended</c>: resource and
/// holder), and how many are live now. Only the change, never the whole list: an agent renewing in a loop would
/// otherwise fill the event ring with copies of every lease (<c>GET /api/leases</c> has the list).
/// <c>why</c> is one of <c>granted</c>, <c>renewed</c>, <c>released</c>, <c>broken</c>, <c>expired</c>, <c>holder_exited</c>.
/// </summary>
public sealed record LeasesChanged(IReadOnlyList<LeaseView> Leases, IReadOnlyList<LeaseEnded> Ended, long Live, string Why) : IDashboardEvent<LeasesChangedPayload>
{
    public string EventType => "leases_changed";
    public LeasesChangedPayload Payload => new(Leases, Ended, Live, Why);
}
