namespace Hive.Contracts.Work;

/// <summary>
/// A live lease as the wire shows it (<c>lease_list</c>, <c>GET /api/leases</c>, <c>leases_changed</c>, the snapshot's
/// <c>leases</c>): who holds which resource, exclusively or shared, why, and until when.
/// </summary>
public sealed record LeaseView(string Resource, string Holder, bool Exclusive, string? Reason, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);

/// <summary>The lease that stands in the way of an acquire: the caller is told whose it is and until when.</summary>
public sealed record LeaseConflict(string Holder, DateTimeOffset ExpiresAt, bool Exclusive, string? Reason);

/// <summary>A lease that ended: whose, on what.</summary>
public sealed record LeaseEnded(string Resource, string Holder);
