using System.Diagnostics;
using System.Globalization;

namespace Hive.Bench.Infrastructure;

public static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Nearest-rank percentile of an ascending array (p in 0..100).</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Ms(long stopwatchTicks) => stopwatchTicks * 1000.0 / Stopwatch.Frequency;

    public static double Seconds(long stopwatchTicks) => (double)stopwatchTicks / Stopwatch.Frequency;

    public static string F(double value, int decimals = 2) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);

    public static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Bytes(long bytes) =>
        $"{bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes ({F(bytes / 1024.0 / 1024.0)} MiB)";
}

/// <summary>Percentiles of a set of latencies in milliseconds.</summary>
public sealed record Latency(int Count, double P50, double P90, double P99, double Max, double Mean)
{
    public static Latency Of(IEnumerable<double> milliseconds)
    {
        var sorted = milliseconds.Order().ToArray();
        return new Latency(sorted.Length,
            Stats.Percentile(sorted, 50), Stats.Percentile(sorted, 90), Stats.Percentile(sorted, 99),
            sorted.Length == 0 ? double.NaN : sorted[^1],
            sorted.Length == 0 ? double.NaN : sorted.Average());
    }

    public override string ToString() =>
        $"p50 {Stats.F(P50, 3)} ms  p90 {Stats.F(P90, 3)} ms  p99 {Stats.F(P99, 3)} ms  max {Stats.F(Max, 3)} ms  (n={Stats.N(Count)})";
}
