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
        if (FieldProblem(cron) is { } problem)
        {
            error = $"cron is not a valid expression: {problem}";
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

    private static readonly (string Name, int Min, int Max, string[]? Names)[] Fields =
    [
        ("minute", 0, 59, null),
        ("hour", 0, 23, null),
        ("day-of-month", 1, 31, null),
        ("month", 1, 12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
        ("day-of-week", 0, 7, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
    ];

    /// <summary>
    /// Ranges and steps checked field by field before Cronos reads the expression, which takes a reversed range
    /// (<c>1-0</c>) for one that wraps round: a range must run forwards within its field, a step be 1 to the field's
    /// size. Cronos' own extensions (<c>L</c>, <c>W</c>, <c>#</c>, <c>?</c>) are left to it.
    /// </summary>
    private static string? FieldProblem(string cron)
    {
        var fields = cron.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < Fields.Length; i++)
        {
            var (name, min, max, names) = Fields[i];
            foreach (var part in fields[i].Split(','))
            {
                var slash = part.IndexOf('/');
                var range = slash < 0 ? part : part[..slash];
                if (slash >= 0)
                {
                    if (!int.TryParse(part.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var step)
                        || step < 1 || step > max - min + 1)
                        return $"the {name} step in '{part}' must be a whole number from 1 to {max - min + 1}";
                }
                var dash = range.IndexOf('-');
                if (range is "*" or "?" || dash < 0) continue;
                if (Value(range[..dash], names) is not { } from || Value(range[(dash + 1)..], names) is not { } to) continue;
                if (from < min || to > max) return $"the {name} range '{range}' must lie within {min}-{max}";
                if (from > to) return $"the {name} range '{range}' runs backwards: write the smaller value first";
            }
        }
        return null;
    }

    /// <summary>A field value as a number (a month or day name included); null for anything else, which Cronos judges.</summary>
    private static int? Value(string text, string[]? names)
    {
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)) return number;
        var index = names is null ? -1 : Array.FindIndex(names, n => n.Equals(text, StringComparison.OrdinalIgnoreCase));
        return index < 0 ? null : index + (names!.Length == 12 ? 1 : 0);
    }

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
