using System.Text.Json;

namespace Hive.Contracts.Governance;

/// <summary>An intervention on the wire: who did what to whom, why, the state before and after, and whether it was reverted.</summary>
public sealed record InterventionView(long Id, DateTimeOffset At, string Actor, int Authority, string AuthorityName, string? Target, string Action,
    string? Reason, JsonElement? Before, JsonElement? After, long? RevertedBy, DateTimeOffset? RevertedAt);
