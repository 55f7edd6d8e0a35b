namespace Hive.Features.TurnStats;

/// <summary>The <c>Hive:TurnStats</c> configuration section.</summary>
public sealed class TurnStatsOptions
{
    /// <summary>Turns older than this (by the host's clock when recorded) are removed by the retention sweep.</summary>
    public int RetainDays { get; set; } = 30;

    /// <summary>How often the retention sweep runs (fractions allowed; it also runs at start-up).</summary>
    public double RetentionSweepMinutes { get; set; } = 60;

    /// <summary>
    /// The most transcript text one turn keeps (UTF-8 bytes): past it one "… truncated" entry, then nothing until the turn
    /// is recorded. A turn's transcript is for reading on a page, not an archive of everything a program printed.
    /// </summary>
    public int TranscriptTurnBytes { get; set; } = 256 * 1024;
}
