using Hive.Shared.Dashboard;

namespace Hive.Features.TurnStats;

/// <summary>
/// A turn was recorded. It carries the agent's new figures (the row facts of <see cref="TurnAggregates"/>, under their
/// row names), so the dashboard's row and sparkline follow without a refetch.
/// </summary>
public sealed record TurnRecorded(TurnView Turn, TurnAggregates Aggregates) : IDashboardEvent
{
    public string EventType => "turn_recorded";

    public object Payload => new Dictionary<string, object?>
    {
        ["turn"] = Turn,
        ["agent"] = Turn.Agent,
        ["turns_24h"] = Aggregates.Turns24h,
        ["tokens_24h"] = Aggregates.Tokens24h,
        ["last_turn_at"] = Aggregates.LastTurnAt,
        ["last_result"] = Aggregates.LastResult,
        ["tokens_by_hour"] = Aggregates.TokensByHour,
        ["turns_by_hour"] = Aggregates.TurnsByHour,
        ["aggregated_at"] = Aggregates.AggregatedAt,
    };
}

/// <summary>
/// New transcript entries: <c>transcript</c>, scoped to the agent, so only streams opened with <c>?agent=NAME</c> get it
/// (a busy agent would otherwise flood every page with text nobody there reads).
/// </summary>
public sealed record TranscriptAppended(string Agent, IReadOnlyList<TranscriptEntryView> Entries) : IDashboardEvent
{
    public string EventType => "transcript";
    public string? Scope => Agent;
    public object Payload => new { agent = Agent, entries = Entries };
}
