using Cronos;

namespace Hive.Features.Reminders;

/// <summary>
/// A recurring reminder's schedule: a five-field cron expression read in an IANA time zone (Cronos handles the
/// daylight-saving gaps and overlaps as cron does: a skipped hour's run happens once at the jump, a repeated hour's once).
/// </summary>
public sealed class CronSchedule
{
    private readonly CronExpression _expression;

    public TimeZoneInfo Zone { get; }

    private CronSchedule(CronExpression expression, TimeZoneInfo zone)
    {
        _expression = expression;
        Zone = zone;
    }

    /// <summary>Null and a reason when <paramref name="cron"/> or <paramref name="zone"/> cannot be used.</summary>
    public static CronSchedule? TryParse(string cron, string zone, out string? error)
    {
        error = null;
        var fields = cron.Split(' ', '\t').Count(f => f.Length > 0);
        if (fields != 5)
        {
            error = $"cron must have five fields (minute hour day-of-month month day-of-week), not {fields}";
            return null;
        }
        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(cron, CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            error = $"cron is not a valid expression: {e.Message}";
            return null;
        }
        if (!TryFindZone(zone, out var timeZone))
        {
            error = "time_zone must name an IANA time zone, such as UTC or Europe/Berlin";
            return null;
        }
        return new CronSchedule(expression, timeZone);
    }


    /// <summary>The first run strictly after <paramref name="after"/>, or null when there is none (say, 30 February).</summary>
    public DateTimeOffset? Next(DateTimeOffset after) => _expression.GetNextOccurrence(after, Zone, inclusive: false)?.ToUniversalTime();

    /// <summary>The next <paramref name="count"/> runs after <paramref name="after"/>.</summary>
    public IReadOnlyList<DateTimeOffset> NextRuns(DateTimeOffset after, int count)
    {
        var runs = new List<DateTimeOffset>(count);
        for (var at = Next(after); at is { } run && runs.Count < count; at = Next(run)) runs.Add(run);
        return runs;
    }

    /// <summary>The runs from <paramref name="from"/> through <paramref name="to"/>, both included; at most <paramref name="cap"/> of them.</summary>
    public IReadOnlyList<DateTimeOffset> Between(DateTimeOffset from, DateTimeOffset to, int cap) =>
        _expression.GetOccurrences(from, to, Zone, fromInclusive: true, toInclusive: true).Take(cap).Select(o => o.ToUniversalTime()).ToList();

    /// <summary>The last run at or before <paramref name="at"/>.</summary>
    public DateTimeOffset? LastAtOrBefore(DateTimeOffset at) => _expression.GetPreviousOccurrence(at, Zone, inclusive: true)?.ToUniversalTime();

    private static bool TryFindZone(string zone, out TimeZoneInfo timeZone)
    {
        timeZone = TimeZoneInfo.Utc;
        // IANA names only: letters, digits and _+-/ (no paths, no "Local", which would follow the host's setting).
        if (zone.Length is 0 or > 64 || zone == "Local" || !zone.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '+' or '-' or '/')) return false;
        try
        {
            timeZone = TimeZoneInfo.FindSystemTimeZoneById(zone);
            return true;
        }
        catch (Exception)
        {
            // Not found or invalid, or a directory of zoneinfo ("Europe") that the runtime refuses with a SecurityException.
            return false;
        }
    }
}
