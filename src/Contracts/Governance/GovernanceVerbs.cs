using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Hive.Contracts.Governance;

public sealed record BeginTurnArgs([property: Description("how long to wait for the turn to be granted, in ms")] int? WaitMs);

public sealed record WatchTurnArgs([property: Required] long? TurnId, [property: Description("how long to wait for a change, in ms")] int? WaitMs);

public sealed record QuotaHitArgs(
    [property: Description("the provider whose quota ran out (default: the agent's)")] string? Provider,
    [property: Description("when the provider says it resets, as an ISO 8601 time with a zone")] DateTimeOffset? Until);

/// <summary>The governed harness's verbs around a turn (a turn is recorded with TurnStats' record_turn).</summary>
public static class GovernanceVerbs
{
    public static readonly SocketVerb<BeginTurnArgs> BeginTurn = new("begin_turn",
        "Ask for a turn before running one: returns {turn_id} when granted, or {held} naming what holds it (a pause, a budget, " +
        "a quota) when wait_ms passed without one.");

    public static readonly SocketVerb<WatchTurnArgs> WatchTurn = new("watch_turn",
        "Wait up to wait_ms for the host to tell the running turn to stop (a halt, a pause, the turn's time limit); returns " +
        "what the turn should do now.");

    public static readonly SocketVerb<QuotaHitArgs> QuotaHit = new("quota_hit",
        "Report that the model provider refused for quota: the hive holds the provider's turns until the reset. Returns " +
        "{provider, until, held}.");
}
