namespace Hive.Contracts.Egress;

/// <summary>
/// <c>egress_refused</c>: an agent's proxy refused a connection to <c>host</c>:<c>port</c> (<c>address</c>: what it
/// resolved to, when it got that far), answering <c>status</c> for <c>reason</c>.
/// </summary>
public sealed record EgressRefusedPayload(long Id, string Agent, string Host, int Port, string? Address, int Status, string Reason, DateTimeOffset At);
