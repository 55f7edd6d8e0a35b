namespace Hive.Features.TurnStats;

/// <summary>The <c>Hive:TurnStats</c> configuration section.</summary>
public sealed class TurnStatsOptions
{
    /// <summary>Turns older than this (by the host's clock when recorded) are removed by the retention sweep.</summary>
    public int RetainDays { get; set; } = 30;

    /// <summary>How often the retention sweep runs (fractions allowed; it also runs at start-up).</summary>
    public double RetentionSweepMinutes { get; set; } = 60;
}
