using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Hive.Contracts.Governance;

public sealed record BeginTurnArgs([property: Description("how long to wait for the turn to be granted, in ms")] int? WaitMs);

public sealed record WatchTurnArgs([property: Required] long? TurnId, [property: Description("how long to wait for a change, in ms")] int? WaitMs);

public sealed record QuotaHitArgs(
    [property: Description("the provider whose quota ran out (default: the agent's)")] string? Provider,
    [property: Description("when the provider says it resets, as an ISO 8601 time with a zone")] DateTimeOffset? Until);

/// <summary>Why a turn is not granted (a pause, a budget, a quota, the queue, ...), and until when when that is known.</summary>
public sealed record Held(string Reason, DateTimeOffset? Until);

/// <summary>
/// <c>begin_turn</c>'s reply: <c>turn_id</c> when granted, else <c>held</c>; the other is left out. <c>handoff</c>, only
/// when this turn runs on another provider of the agent's chain than its last turn did: start a fresh conversation (never
/// resume one another model wrote) with <c>brief</c> first in the prompt.
/// </summary>
public sealed record BeginTurnReply(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? TurnId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Held? Held,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Handoff? Handoff = null);

/// <summary>
/// A turn that starts on another provider than the last: from which, to which, why, and the brief of the work so far (the
/// task, the last tool calls and their results, the files changed), built by the hive from the calls it carried.
/// </summary>
public sealed record Handoff(string From, string To, string Reason, string Brief);

/// <summary>
/// <c>watch_turn</c>'s reply: <c>state</c> is <c>running</c>, <c>stop</c> (stop the command within <c>grace_ms</c>; <c>reason</c>
/// says why) or <c>ended</c> (<c>reason</c> how); <c>reason</c> and <c>grace_ms</c> are null when they do not apply.
/// </summary>
public sealed record WatchTurnReply(string State, string? Reason, long? GraceMs);

/// <summary>
/// <c>quota_hit</c>'s reply: the provider, until when its turns are held, and <c>held</c>: <c>agent</c> (only the reporter is
/// held) or <c>provider</c> (the provider's circuit is open).
/// </summary>
public sealed record QuotaHitReply(string Provider, DateTimeOffset Until, string Held);

/// <summary>The governed harness's verbs around a turn (a turn is recorded with TurnStats' record_turn).</summary>
public static class GovernanceVerbs
{
    public static readonly SocketVerb<BeginTurnArgs, BeginTurnReply> BeginTurn = new("begin_turn",
        "Ask for a turn before running one: returns {turn_id} when granted, or {held} naming what holds it (a pause, a budget, " +
        "a quota) when wait_ms passed without one. A granted turn on another provider of the agent's chain than its last " +
        "carries {handoff: {from, to, reason, brief}}: start a fresh conversation with the brief first.", Reach: VerbReach.Own);

    public static readonly SocketVerb<WatchTurnArgs, WatchTurnReply> WatchTurn = new("watch_turn",
        "Wait up to wait_ms for the host to tell the running turn to stop (a halt, a pause, the turn's time limit); returns " +
        "what the turn should do now.", Reach: VerbReach.Own);

    public static readonly SocketVerb<QuotaHitArgs, QuotaHitReply> QuotaHit = new("quota_hit",
        "Report that the model provider refused for quota: the hive holds the provider's turns until the reset. Returns " +
        "{provider, until, held}.");
}
