using System.Globalization;
using System.Text.RegularExpressions;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>
/// Whether the text of a failed turn's result names a provider's usage or rate limit, and when the limit resets. Claude
/// Code says it in several ways: <c>Claude AI usage limit reached|1767225600</c> (epoch seconds after the bar),
/// <c>5-hour limit reached ∙ resets 2026-11-24T03:00:00Z</c>, <c>You've hit your limit</c>, an API error naming a
/// <c>rate_limit_error</c>. The reset time is read from an epoch after a bar or an ISO-8601 time; a time of day without a
/// date (<c>resets 3am</c>) is not a time, and neither is one already past or more than 7 days ahead (what the hive's
/// <c>quota_hit</c> takes): then there is a limit without an <c>until</c>, and the hive holds for its default.
/// </summary>
internal static partial class UsageLimit
{
    /// <summary>The furthest reset the hive takes.</summary>
    public static readonly TimeSpan Furthest = TimeSpan.FromDays(7);

    /// <summary>True when <paramref name="text"/> names a usage or rate limit; <paramref name="until"/> is its reset when it says one.</summary>
    public static bool TryRead(string? text, DateTimeOffset now, out DateTimeOffset? until)
    {
        until = null;
        if (string.IsNullOrEmpty(text) || !Names().IsMatch(text)) return false;
        until = ResetTime(text) is { } at && at > now && at <= now + Furthest ? at : null;
        return true;
    }

    private static DateTimeOffset? ResetTime(string text)
    {
        if (Epoch().Match(text) is { Success: true } epoch && long.TryParse(epoch.Groups[1].Value, CultureInfo.InvariantCulture, out var n))
            return epoch.Groups[1].Length == 13 ? DateTimeOffset.FromUnixTimeMilliseconds(n) : DateTimeOffset.FromUnixTimeSeconds(n);
        if (Iso().Match(text) is { Success: true } iso
            && DateTimeOffset.TryParse(iso.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            return at;
        return null;
    }

    /// <summary>
    /// A limit of use, not of size: "usage limit", "rate limit" (also <c>rate_limit_error</c>), a named window ("5-hour
    /// limit", "weekly limit", "Opus limit"), "hit your limit", a quota exceeded, HTTP's "too many requests". Not a
    /// context or prompt limit.
    /// </summary>
    [GeneratedRegex(
        @"\b(?:usage|rate|session|daily|weekly|monthly|opus|sonnet|\d+[- ]?hours?)[ _-]?limit|\bhit (?:your|the) (?:\w+ )?limit|\bquota (?:exceeded|reached)|\bexceeded (?:your |the )?(?:current )?quota|\btoo many requests",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Names();

    /// <summary>Epoch seconds (or milliseconds) right after a bar: Claude Code's <c>…limit reached|1767225600</c>.</summary>
    [GeneratedRegex(@"\|\s*(\d{13}|\d{10})(?!\d)", RegexOptions.CultureInvariant)]
    private static partial Regex Epoch();

    /// <summary>An ISO-8601 date and time (UTC unless it carries an offset).</summary>
    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:?\d{2})?", RegexOptions.CultureInvariant)]
    private static partial Regex Iso();
}
