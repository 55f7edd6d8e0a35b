using Hive.Contracts.Egress;
using Hive.Shared.Dashboard;

namespace Hive.Features.Egress.Record;

/// <summary>
/// <c>egress_refused</c>: an agent's proxy refused a connection (its target not in its egress, an address it may not
/// reach, a bad request, or a target that did not answer); at most once per agent and host per minute.
/// </summary>
public sealed record EgressRefused(long Id, string Agent, string Host, int Port, string? Address, int Status, string Reason, DateTimeOffset At)
    : IDashboardEvent<EgressRefusedPayload>
{
    public string EventType => "egress_refused";
    public EgressRefusedPayload Payload => new(Id, Agent, Host, Port, Address, Status, Reason, At);
}
