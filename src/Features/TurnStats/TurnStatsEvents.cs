using Hive.Contracts.TurnStats;
using Hive.Shared.Dashboard;

namespace Hive.Features.TurnStats;

/// <summary>
/// A turn was recorded. It carries the agent's new figures (the row facts of <see cref="TurnAggregates"/>, under their
/// row names), so the dashboard's row and sparkline follow without a refetch.
/// </summary>
public sealed record TurnRecorded(TurnView Turn, TurnAggregates Aggregates) : IDashboardEvent<TurnRecordedPayload>
{
    public string EventType => "turn_recorded";
    public TurnRecordedPayload Payload => new(Turn, Aggregates);
}

/// <summary>
/// New transcript entries: <c>transcript</c>, scoped to the agent, so only streams opened with <c>?agent=NAME</c> get it
/// (a busy agent would otherwise flood every page with text nobody there reads).
/// </summary>
public sealed record TranscriptAppended(string Agent, IReadOnlyList<TranscriptEntryView> Entries) : IDashboardEvent<TranscriptAppendedPayload>
{
    public string EventType => "transcript";
    public string? OnlyForAgent => Agent;
    public TranscriptAppendedPayload Payload => new(Agent, Entries);
}
