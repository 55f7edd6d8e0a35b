using Hive.Shared.Dashboard;

namespace Hive.Features.Work.Leases;

/// <summary>
/// The live leases changed (granted, renewed, released, broken by the operator, expired, or released because the
/// holder's process ended): the whole list, which is small, so the board shows it as it is without keeping any state.
/// <c>why</c> is one of <c>granted</c>, <c>renewed</c>, <c>released</c>, <c>broken</c>, <c>expired</c>, <c>holder_exited</c>.
/// </summary>
public sealed record LeasesChanged(IReadOnlyList<LeaseView> Leases, string Why) : IDashboardEvent
{
    public string EventType => "leases_changed";
    public object Payload => new { leases = Leases, why = Why };
}
