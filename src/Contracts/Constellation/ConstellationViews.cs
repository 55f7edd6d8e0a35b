namespace Hive.Contracts.Constellation;

/// <summary>The constellation as the operator sees it (<c>GET /api/constellation</c>, the dashboard, <c>hivectl hives</c>).</summary>
/// <param name="Hives">Every hive heard from, this one included (<see cref="HiveView.Own"/>), by name.</param>
/// <param name="DeadLetters">The latest arrivals that could not be taken in, newest first.</param>
public sealed record ConstellationView(
    bool Enabled, string? Name, string? PublicUrl, double? HeartbeatSeconds, ConstellationStatus? Status, IReadOnlyList<HiveView> Hives,
    IReadOnlyList<DeadLetterView> DeadLetters)
{
    public static readonly ConstellationView Off = new(false, null, null, null, null, [], []);
}

/// <summary>This hive's side: its outbox, the outbox alert, its dead letters, its inbox lag, and each link to the broker.</summary>
/// <param name="Links">Per connection (<c>relay</c>, <c>inbox</c>, <c>heartbeat</c>): null while connected, else since when it has been down.</param>
/// <param name="InboxLag">Messages ready on this hive's queue at the last heartbeat (null: not measured yet).</param>
public sealed record ConstellationStatus(
    long OutboxDepth, DateTimeOffset? OldestUnsentAt, bool OutboxAlert, long DeadLetters, long? InboxLag, IReadOnlyDictionary<string, DateTimeOffset?> Links)
{
    public bool SameAs(ConstellationStatus other) =>
        OutboxDepth == other.OutboxDepth && OldestUnsentAt == other.OldestUnsentAt && OutboxAlert == other.OutboxAlert
        && DeadLetters == other.DeadLetters && InboxLag == other.InboxLag
        && Links.Count == other.Links.Count && Links.All(l => other.Links.TryGetValue(l.Key, out var since) && since == l.Value);
}

/// <summary>A hive as its last heartbeat told it; <see cref="Reachable"/> false once 3 of its intervals passed without one.</summary>
public sealed record HiveView(
    string Name, bool Own, bool Reachable, string? PublicUrl, double HeartbeatSeconds, DateTimeOffset FirstHeardAt, DateTimeOffset LastHeardAt,
    int Agents, IReadOnlyDictionary<string, int> States, long OutboxDepth, long? InboxLag, long DeadLetters);

/// <summary>An arrival kept aside: unparseable, refused (published under another hive's name), or for no one.</summary>
public sealed record DeadLetterView(long Id, string? GlobalId, string? UserId, string? RoutingKey, string Reason, DateTimeOffset ReceivedAt);
