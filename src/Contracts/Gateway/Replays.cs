using System.Text.Json.Serialization;

namespace Hive.Contracts.Gateway;

/// <summary>
/// <c>POST /api/turns/{id}/replay</c>: replay a recorded turn. <c>into</c> names the replay's agent (default
/// <c>&lt;agent&gt;-replay-&lt;turn&gt;</c>); <c>on_divergence</c> is <c>stop</c> (default: the replay ends at the first call
/// that differs from the recording) or <c>live</c> (from there on the calls go to the live model, under the replay agent's
/// own budget); <c>env</c> is laid over the original's environment (a changed prompt or setting to try against the recording);
/// <c>preset</c> runs a changed preset's command and env in place of the original's.
/// </summary>
public sealed record ReplayRequest(string? Into = null, string? OnDivergence = null, IReadOnlyDictionary<string, string>? Env = null, ReplayPreset? Preset = null);

/// <summary>
/// A preset file to replay with (<c>file</c>: its JSON, as in the meta repo's <c>presets/</c>), expanded for the original
/// agent's name and purpose; <c>name</c> is the preset's name (its program's <c>Hive:Presets</c> setting is found by it).
/// </summary>
public sealed record ReplayPreset(string Name, System.Text.Json.JsonElement File);

/// <summary>What a replay does at the first call that differs from the recording.</summary>
public static class OnDivergence
{
    public const string Stop = "stop";
    public const string Live = "live";
    public static readonly IReadOnlyList<string> All = [Stop, Live];
}

/// <summary>Where a replay stands: <c>running</c>, then <c>identical</c> (every call matched), <c>diverged</c> or <c>failed</c>.</summary>
public static class ReplayStates
{
    public const string Running = "running";
    public const string Identical = "identical";
    public const string Diverged = "diverged";
    public const string Failed = "failed";
}

/// <summary>
/// A replay of turn <c>source_turn</c> of <c>source_agent</c> by the agent <c>agent</c>: how many of the turn's recorded
/// calls it was answered from (<c>calls_replayed</c> of <c>calls_recorded</c>), where it diverged (null: it did not), and the
/// hive verbs it called that were captured instead of carried out; <c>turn</c> is the replay agent's own turn (null until its
/// first model call).
/// </summary>
public sealed record ReplayView(
    long Id, string Agent, string SourceAgent, long SourceTurn, string OnDivergence, string State, int CallsReplayed, int CallsRecorded,
    Divergence? Divergence, string? Note, DateTimeOffset CreatedAt, DateTimeOffset? EndedAt, IReadOnlyList<CapturedVerb> Captured, long? Turn = null);

/// <summary>
/// The first call of a replay whose request differs from the recorded one: its place (<c>call</c>, from 1) and the recorded
/// call it was compared with, and what differs, each difference a JSON path with the two values (normalised: ids, times and
/// the replay agent's name do not count), and for a differing text its lines, <c>- </c> recorded and <c>+ </c> replayed.
/// </summary>
public sealed record Divergence(int Call, long RecordedCallId, IReadOnlyList<RequestDifference> Differences);

/// <summary>One difference between a recorded request and a replayed one.</summary>
public sealed record RequestDifference(
    string Path, string? Recorded, string? Replayed,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Lines = null);

/// <summary>A hive verb a replay's agent called, captured: never carried out (a replay changes nothing outside itself).</summary>
public sealed record CapturedVerb(long Id, string Verb, System.Text.Json.JsonElement Args, DateTimeOffset At);

/// <summary><c>replay_changed</c>: a replay began, got further, or ended.</summary>
public sealed record ReplayChangedPayload(ReplayView Replay);

/// <summary>An agent row's <c>replay_of</c>: the turn this agent replays (null for any other agent).</summary>
public sealed record ReplayOf(long Replay, string Agent, long Turn);

/// <summary>
/// <c>POST /api/agents/{name}/fork</c>: a new agent with the original's configuration whose conversation is the original's at
/// the end of turn <c>at_turn</c>; its next turn runs live with <c>model</c> (the model from then on) and/or <c>message</c>
/// (from the operator; without one, the fork is handed the messages that woke the original's next turn). <c>name</c>
/// defaults to <c>&lt;agent&gt;-fork-&lt;turn&gt;</c>.
/// </summary>
public sealed record ForkRequest(long? AtTurn = null, string? Model = null, string? Name = null, string? Message = null);

/// <summary>A fork: the agent it made, the turn of the original it continues from, what it was given.</summary>
public sealed record ForkView(long Id, string Agent, string SourceAgent, long SourceTurn, string? Model, string? Message, DateTimeOffset CreatedAt);

/// <summary>An agent row's <c>fork_of</c>: the original's turn this agent continues from (null for any other agent).</summary>
public sealed record ForkOf(long Fork, string Agent, long Turn);

/// <summary>
/// <c>GET /api/turns/{id}</c>: one granted turn as the gateway saw it: the messages that woke it (null when it has no
/// checkpoint), each model call with its answer as a person reads it, the tool calls in order with the results that came
/// back in the next call (<c>hive</c>: one of the hive's tools), its cost and time, whether it can be replayed (and why not),
/// the replays of it, and what the turn's agent is (a replay's, a fork's).
/// </summary>
public sealed record TurnView(
    long Id, string Agent, DateTimeOffset GrantedAt, DateTimeOffset? EndedAt, string? EndReason, IReadOnlyList<TurnWakeView>? Wake,
    IReadOnlyList<TurnCallView> Calls, IReadOnlyList<TurnToolCallView> ToolCalls, double? CostUsd, double? DurationMs,
    string? NotReplayable, IReadOnlyList<ReplayView> Replays, ReplayOf? ReplayOf, ForkOf? ForkOf);

/// <summary>A message that woke a turn.</summary>
public sealed record TurnWakeView(string From, string Kind, string Body);

/// <summary>One model call of a turn, with its answer as a person reads it (null when its bodies were not recorded).</summary>
public sealed record TurnCallView(CallView Call, CallMessageView? Answer);

/// <summary>A tool call the model made in a turn (<c>call_id</c>: the model call that answered with it) and its result, when one came back.</summary>
public sealed record TurnToolCallView(long CallId, string? Name, string Input, string? Result, bool Hive);
