using System.Globalization;

namespace Hive.Features.Governance;

/// <summary>
/// The watchdog's rules, each acting under its own name at watchdog authority (so the operator's and the manager's
/// decisions stand above theirs): a turn that runs too long, an agent whose turns spend and do nothing, an agent whose
/// restarts ran out.
/// </summary>
public static class WatchdogRules
{
    public const string Stall = "stall";
    public const string Loop = "loop";
    public const string CrashLoop = "crash_loop";

    /// <summary>A span as a person reads it in a question: seconds under two minutes, else minutes.</summary>
    internal static string Show(TimeSpan span) => span.TotalSeconds < 120
        ? $"{span.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s"
        : $"{span.TotalMinutes.ToString("0", CultureInfo.InvariantCulture)} minutes";
}
