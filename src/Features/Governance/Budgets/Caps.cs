namespace Hive.Features.Governance;

/// <summary>A scope's caps (null: none of that kind). USD caps count turns whose cost is known; token caps count every turn.</summary>
public sealed record Caps(double? DailyUsd, double? MonthlyUsd, long? DailyTokens, long? MonthlyTokens)
{
    public static readonly Caps None = new(null, null, null, null);

    public double? Of(string metric) => metric switch
    {
        Metrics.DailyUsd => DailyUsd,
        Metrics.MonthlyUsd => MonthlyUsd,
        Metrics.DailyTokens => DailyTokens,
        Metrics.MonthlyTokens => MonthlyTokens,
        _ => null,
    };
}

/// <summary>The four things a budget caps, and the UTC period each is counted over.</summary>
public static class Metrics
{
    public const string DailyUsd = "daily_usd";
    public const string MonthlyUsd = "monthly_usd";
    public const string DailyTokens = "daily_tokens";
    public const string MonthlyTokens = "monthly_tokens";
    public static readonly IReadOnlyList<string> All = [DailyUsd, MonthlyUsd, DailyTokens, MonthlyTokens];

    public static bool IsDaily(string metric) => metric is DailyUsd or DailyTokens;
    public static bool IsUsd(string metric) => metric is DailyUsd or MonthlyUsd;

    /// <summary>The period <paramref name="metric"/> is counted over at <paramref name="at"/>: <c>2026-11-23</c> or <c>2026-11</c>.</summary>
    public static string PeriodOf(string metric, DateTimeOffset at) => IsDaily(metric) ? Day(at) : Month(at);

    public static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
    public static string Month(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An amount of this metric as a person reads it: <c>$0.05</c> or <c>120000 tokens</c>.</summary>
    public static string Show(string metric, double amount) =>
        IsUsd(metric) ? $"${amount.ToString("0.00##", System.Globalization.CultureInfo.InvariantCulture)}" : $"{amount:0} tokens";
}

/// <summary>The hive-wide scope's name.</summary>
public static class Scopes
{
    public const string Hive = "*";
}
