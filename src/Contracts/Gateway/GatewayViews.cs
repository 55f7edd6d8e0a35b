namespace Hive.Contracts.Gateway;

/// <summary>The last call of a summary window.</summary>
public sealed record LastModelCall(long Id, long? TurnId, string Provider, string? Model, string State, int? Status);

/// <summary>An agent's failing streak on the wire (its row's <c>model_calls_failing</c>).</summary>
public sealed record FailingStreakView(int Count, string Provider, string LastError, DateTimeOffset Since);

/// <summary>One provider on the wire: never its key, nor the secret's value (only the secret's name says whether one is set).</summary>
public sealed record ProviderView(
    string Name, string Protocol, string UpstreamHost, int InFlight, int? Slots, int Waiting, ProviderLimitsView? Limits, ServedView? Served = null);

/// <summary>
/// A provider's model server as the host runs it: its state (<c>starting</c>, <c>up</c>, <c>restarting</c>, <c>failed</c>,
/// <c>stopped</c>) since <paramref name="Since"/>, its pid while it runs, how often it was restarted, how its last run ended
/// (null: it could not be started at all, or has not ended yet), its slots and context, and the tail of its output.
/// </summary>
public sealed record ServedView(string Provider, string State, int? Pid, int Restarts, int? LastExit, DateTimeOffset? LastExitAt, DateTimeOffset Since,
    int? Slots, int? Context, string Tail);

/// <summary>What the provider last said of its limits on a successful call.</summary>
public sealed record ProviderLimitsView(long? RequestsRemaining, long? TokensRemaining, DateTimeOffset? RequestsReset, DateTimeOffset? TokensReset,
    DateTimeOffset SeenAt);

/// <summary>One model call as the operator (and the agent that made it) reads it.</summary>
public sealed record CallView(
    long Id, string Agent, long? TurnId, string Provider, string? Model, string Path, bool Streamed, string State, int? Status,
    long InputTokens, long OutputTokens, long CacheReadTokens, long CacheWriteTokens, double? CostUsd,
    double? FirstByteMs, double? DurationMs, long BytesUp, long BytesDown, string? Error, bool Recorded,
    DateTimeOffset StartedAt, DateTimeOffset? EndedAt);

/// <summary>
/// One model call with what was recorded of it: the request and the response as sent (JSON, or the stream's text; null
/// when not recorded), and <c>readable</c>, the two as a person reads them (null when neither was recorded).
/// </summary>
public sealed record CallDetail(CallView Call, string? Request, string? Response, CallReadingView? Readable);

/// <summary>A recorded call as a person reads it: the system prompt's start, the conversation's last messages, the answer.</summary>
public sealed record CallReadingView(string? System, int MessageCount, IReadOnlyList<CallMessageView> LastMessages, CallMessageView? Answer, string? StopReason);

/// <summary>One message of a recorded call: a role and its parts.</summary>
public sealed record CallMessageView(string Role, IReadOnlyList<CallPartView> Parts);

/// <summary>One part of a message: text, a tool call with its input (<c>name</c> the tool's), a tool's result, thinking.</summary>
public sealed record CallPartView(string Kind, string Text, string? Name = null);
