namespace Hive.Features.TurnStats;

/// <summary>One transcript entry on the wire. <c>TurnId</c> is null while its turn runs.</summary>
public sealed record TranscriptEntryView(long Id, string Agent, long? TurnId, DateTimeOffset At, string Kind, string? Tool, string Text);

internal sealed record TranscriptEntryRow(long Id, string Agent, long? TurnId, DateTimeOffset At, string Kind, string? Tool, string Text)
{
    public const string Columns = "id, agent, turn_id, at, kind, tool, text";

    public TranscriptEntryView View() => new(Id, Agent, TurnId, At, Kind, Tool, Text);
}
