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
