namespace Hive.Contracts.TurnStats;

/// <summary>
/// <c>turn_recorded</c>: the turn, then the agent's new figures under their row names, so the dashboard's row and
/// sparkline follow without a refetch. Derived from the figures, so a figure added to the row reaches this event too
/// (System.Text.Json writes a derived record's own properties first).
/// </summary>
public sealed record TurnRecordedPayload : TurnAggregates
{
    public TurnRecordedPayload(TurnView turn, TurnAggregates aggregates) : base(aggregates)
    {
        Turn = turn;
        Agent = turn.Agent;
    }

    public TurnView Turn { get; }
    public string Agent { get; }
}

/// <summary><c>transcript</c>: new transcript entries of one agent (only its page's stream gets them).</summary>
public sealed record TranscriptAppendedPayload(string Agent, IReadOnlyList<TranscriptEntryView> Entries);
