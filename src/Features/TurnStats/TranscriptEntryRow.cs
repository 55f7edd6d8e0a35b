using Hive.Contracts.TurnStats;

namespace Hive.Features.TurnStats;

internal sealed record TranscriptEntryRow(long Id, string Agent, long? TurnId, DateTimeOffset At, string Kind, string? Tool, string Text)
{
    public const string Columns = "id, agent, turn_id, at, kind, tool, text";

    public TranscriptEntryView View() => new(Id, Agent, TurnId, At, Kind, Tool, Text);
}
