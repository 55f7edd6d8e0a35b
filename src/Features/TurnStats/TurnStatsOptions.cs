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

    /// <summary>
    /// The most transcript text one agent may store per clock hour (UTF-8 bytes), every turn together: past it
    /// <c>transcript</c> is refused (<c>too_many</c>) until the hour is over. 32 MiB: over a hundred turns each at
    /// <see cref="TranscriptTurnBytes"/>, more than any honest agent prints in an hour, and a bound on how fast one can
    /// fill the disk (a full disk stops the whole hive).
    /// </summary>
    public long TranscriptBytesPerHour { get; set; } = 32L * 1024 * 1024;
}
