using System.ComponentModel;
using Hive.Contracts.Messages;

namespace Hive.Contracts.TurnStats;

public sealed record RecordTurnArgs(
    string? Model, string? WakeFrom, string? ResultKind, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, long? DurationMs,
    long? InputTokens, long? OutputTokens, long? CacheReadTokens, long? CacheCreationTokens, long? ToolCallCount,
    [property: Description("each tool's name and how often it was called")] Dictionary<string, long>? Tools,
    long? OpenThreadsCount, long? OpenRemindersCount, string? Note,
    [property: Description("the cost the program reports: a claim, kept beside what the gateway metered")] double? CostUsd,
    [property: Description("the turn begin_turn granted")] long? TurnId);

/// <summary>One line of what an agent's program printed in a turn.</summary>
public sealed record TranscriptEntry(string? Kind, string? Text, string? Tool = null);

public sealed record TranscriptArgs(List<TranscriptEntry>? Entries);

public sealed record TranscriptReply(int Stored, int Dropped);

public sealed record ConversationReply(string? SessionId, string? Model, bool Compact, bool Clear);

public sealed record SessionArgs(
    [property: Description("the program's session id, to resume at the next turn")] string? SessionId,
    [property: Description("compact the conversation at the next turn")] bool? CompactNext,
    [property: Description("a session id to forget")] string? Forget);

public sealed record SessionReply(string? SessionId, bool CompactNext);

/// <summary>The turn statistics verbs the agents' harness calls around each turn.</summary>
public static class TurnStatsVerbs
{
    public static readonly SocketVerb<RecordTurnArgs, IdReply> RecordTurn = new("record_turn",
        "Record one finished turn: its model, times, tokens, tools and the cost the program claims. Returns {id}.", Reach: VerbReach.Own);

    public static readonly SocketVerb<TranscriptArgs, TranscriptReply> Transcript = new("transcript",
        "Append a batch of what the program printed to the agent's live transcript; entries past the hive's limits are dropped and counted.", Reach: VerbReach.Own);

    public static readonly SocketVerb<NoArgs, ConversationReply> Conversation = new("conversation",
        "At a turn's start: the session to resume, the model to use, and whether the operator asked to compact or clear (taken by this call).", Reach: VerbReach.Own);

    public static readonly SocketVerb<SessionArgs, SessionReply> Session = new("session",
        "Set the program's session id, ask for a compaction at the next turn, or forget a session.", Reach: VerbReach.Own);
}
