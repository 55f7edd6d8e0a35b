using System.Globalization;
using System.Runtime;

namespace Hive.Bench.Infrastructure;

/// <summary>What every mode prints about the machine and the build, so figures from different runs can be compared.</summary>
public static class BenchEnvironment
{
    public static string BuildConfiguration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    public static string Verdict(double value, double goal) => value < goal ? "met" : "MISSED";

    /// <summary>The built hivectl (Release beside this bench's build, else Debug), for the modes that run the harness.</summary>
    public static string Hivectl
    {
        get
        {
            var release = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "Cli", "bin", "Release", "net10.0", "hivectl.dll");
            return Path.GetFullPath(File.Exists(release) ? release : release.Replace("Release", "Debug"));
        }
    }

    /// <summary>
    /// The host's configuration for a bench that opens <paramref name="streams"/> event streams from one client (one
    /// token): the per-client cap (<c>Hive:Limits:MaxEventStreamsPerClient</c>, 32 by default) and the hive's cap
    /// raised to let them all in, with room for a dashboard beside them. The host's defaults are left as they are.
    /// </summary>
    public static string[] EventStreamsFromOneClient(int streams) =>
    [
        "--Hive:Limits:MaxEventStreamsPerClient", (streams + 1).ToString(CultureInfo.InvariantCulture),
        "--Hive:Limits:MaxEventStreams", Math.Max(200, streams + 8).ToString(CultureInfo.InvariantCulture),
    ];

    /// <summary>A fresh temp dir for one run (<c>hive-bench-&lt;mode&gt;-&lt;id&gt;</c>).</summary>
    public static string TempRoot(string mode) =>
        Path.Combine(Path.GetTempPath(), $"hive-bench-{mode}-" + Guid.NewGuid().ToString("N")[..12]);

    public static void PrintHeader(string title, string dataDir)
    {
        Console.WriteLine($"== {title} ==");
        Console.WriteLine($"cores: {Environment.ProcessorCount}   runtime: .NET {Environment.Version}   server GC: {GCSettings.IsServerGC}   " +
                          $"build: {BuildConfiguration}");
        Console.WriteLine($"data dir: {dataDir}");
        Console.WriteLine($"load average at start: {LoadAverage()}   (other work on this machine skews every figure; compare ratios)");
        if (BuildConfiguration != "Release") Console.WriteLine("WARNING: not a Release build; figures are not comparable");
    }

    public static void RemoveOrKeep(string root, bool keep)
    {
        if (keep)
        {
            Console.WriteLine($"kept {root}");
            return;
        }
        try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A wall-clock stamp written as Unix nanoseconds (<c>date +%s%N</c>, python's <c>time.time_ns()</c>), as a time.</summary>
    public static DateTimeOffset FromUnixNanoseconds(long ns) => DateTimeOffset.FromUnixTimeMilliseconds(ns / 1_000_000).AddTicks(ns % 1_000_000 / 100);
}
