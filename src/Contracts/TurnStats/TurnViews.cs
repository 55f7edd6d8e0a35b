using System.Text.Json.Serialization;

namespace Hive.Contracts.TurnStats;

/// <summary>One recorded turn on the wire (<c>GET /api/agents/{name}/turns</c>, <c>turn_recorded</c>).</summary>
public sealed record TurnView(
    long Id,
    string Agent,
    DateTimeOffset RecordedAt,
    string? Model,
    string? WakeFrom,
    string ResultKind,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    long DurationMs,
    long InputTokens,
    long OutputTokens,
    long CacheReadTokens,
    long CacheCreationTokens,
    long ToolCallCount,
    IReadOnlyDictionary<string, long> Tools,
    long? OpenThreadsCount,
    long? OpenRemindersCount,
    string? Note,
    double? CostUsd,
    string? CostSource = null,
    double? ReportedCostUsd = null,
    long? GrantedTurnId = null);

/// <summary>One transcript entry on the wire. <c>TurnId</c> is null while its turn runs.</summary>
public sealed record TranscriptEntryView(long Id, string Agent, long? TurnId, DateTimeOffset At, string Kind, string? Tool, string Text);

/// <summary>
/// An agent's conversation with its program: the session to resume, the model, and what the operator asked of the next
/// turn (<c>compact_next</c>, <c>clear_next</c>).
/// </summary>
public sealed record ConversationView(string Agent, string? SessionId, string? Model, bool CompactNext, bool ClearNext, DateTimeOffset? UpdatedAt);

/// <summary>
/// An agent's turn figures on its row (<c>/api/state</c> <c>agents[]</c>) and in <c>turn_recorded</c>: the last 24 hours
/// by the host's clock (turns, tokens of every kind, and the same per hour, oldest hour first, for the sparkline: the last
/// entry is the hour up to <see cref="AggregatedAt"/>) and its newest turn. The hours are counted back from
/// <see cref="AggregatedAt"/>, so a page that shows them later shifts them by the whole hours gone since (and drops what
/// fell out of the window) instead of waiting for the next turn or a reload.
/// Not sealed: <see cref="TurnRecordedPayload"/> is these figures plus the turn.
/// </summary>
public record TurnAggregates(
    [property: JsonPropertyName("turns_24h")] long Turns24h,
    [property: JsonPropertyName("tokens_24h")] long Tokens24h,
    DateTimeOffset? LastTurnAt,
    string? LastResult,
    IReadOnlyList<long> TokensByHour,
    IReadOnlyList<long> TurnsByHour,
    DateTimeOffset? AggregatedAt)
{
    public const int Hours = 24;

    public static TurnAggregates None { get; } = new(0, 0, null, null, new long[Hours], new long[Hours], null);
}
