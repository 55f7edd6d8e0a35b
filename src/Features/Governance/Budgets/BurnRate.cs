using Dapper;
using Hive.Shared.Data;

namespace Hive.Features.Governance;

/// <summary>
/// How fast agents spend now: the cost counted in the last <see cref="Window"/> (metered calls and recorded turns, as the
/// books count them), per hour; and when, at that rate, what a daily cap has left is gone.
/// </summary>
internal static class BurnRate
{
    /// <summary>An hour: long enough that one call is not a rate, short enough that this morning's rush is not now's.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);

    /// <summary>Each agent's spend in the last <see cref="Window"/>, in USD per hour (agents that spent nothing are absent).</summary>
    public static async Task<IReadOnlyDictionary<string, double>> PerHourAsync(IDb db, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        var rows = await connection.QueryAsync<(string Agent, double Usd)>(new CommandDefinition(
            "SELECT agent, total(cost_usd) FROM spend WHERE at > @since GROUP BY agent", new { since = now - Window }, cancellationToken: cancellationToken));
        return rows.Where(r => r.Usd > 0).ToDictionary(r => r.Agent, r => r.Usd / Window.TotalHours, StringComparer.Ordinal);
    }

    /// <summary>
    /// When <paramref name="leftUsd"/> runs out at <paramref name="perHour"/>: null with no cap (<paramref name="leftUsd"/>
    /// null), no burn, or not before the UTC day ends (the cap is whole again at midnight); now when nothing is left.
    /// </summary>
    public static DateTimeOffset? RunsOutAt(double? leftUsd, double perHour, DateTimeOffset now)
    {
        if (leftUsd is not { } left || perHour <= 0) return null;
        if (left <= 0) return now;
        var midnight = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var hours = left / perHour;
        return hours < (midnight - now).TotalHours ? now + TimeSpan.FromHours(hours) : null;
    }
}
