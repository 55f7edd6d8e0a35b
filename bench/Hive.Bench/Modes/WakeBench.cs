using System.Diagnostics;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The harness wake bench: the harness's wake latency, from a <c>send</c> to alice until the COMMAND that <c>hivectl run</c>
/// starts for it is running (it writes the wall clock, <c>date +%s%N</c>, first thing). One message at a time, each
/// acknowledged by the harness before the next is sent; the first 10 wakes are warm-up.
/// </summary>
internal sealed class WakeBench : IBenchMode
{
    public string Name => "wake";
    public string Summary => "hivectl run: send → COMMAND started, p50/p99 over 200 wakes (--messages)";

    private const int Warmup = 10;
    private const int DefaultWakes = 200;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("wake");
        PrintHeader("Hive harness wake benchmark (issue 16 item 3)", root);
        var hivectl = Hivectl;
        var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "hive"), ["alice", "bob"], ["--Logging:LogLevel:Microsoft.AspNetCore", "Error"]);
        var stamps = Path.Combine(root, "stamps");
        Process? harness = null;
        try
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { hivectl, "run", "--socket", hive.SocketPath("alice"), "--", "/bin/sh", "-c", $"date +%s%N >> '{stamps}'; cat > /dev/null" })
                info.ArgumentList.Add(arg);
            harness = Process.Start(info)!;
            _ = harness.StandardOutput.ReadToEndAsync();
            _ = harness.StandardError.ReadToEndAsync();
            await using var bob = await hive.ConnectAsync("bob");
            var latencies = new List<double>();
            var wakes = options.Messages ?? DefaultWakes;
            for (var i = 0; i < Warmup + wakes; i++)
            {
                var lines = File.Exists(stamps) ? File.ReadAllLines(stamps).Length : 0;
                var sentAt = DateTimeOffset.UtcNow;
                await bob.SendAsync("alice", $"wake {i}");
                await HiveInstance.Until(() => File.Exists(stamps) && File.ReadAllLines(stamps).Length > lines, TimeSpan.FromSeconds(30), $"wake {i}");
                var startedNs = long.Parse(File.ReadAllLines(stamps)[lines], System.Globalization.CultureInfo.InvariantCulture);
                var started = FromUnixNanoseconds(startedNs);
                if (i >= Warmup) latencies.Add((started - sentAt).TotalMilliseconds);
                // The next send after the harness acknowledged this one (so each wake carries exactly one message).
                await HiveInstance.Until(() => hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'alice' AND delivered_at IS NULL") == 0,
                    TimeSpan.FromSeconds(30), $"wake {i} acknowledged");
            }
            var wake = Latency.Of(latencies);
            Console.WriteLine($"send → COMMAND started:      {wake}");
            Console.WriteLine($"load average at end: {LoadAverage()}");
            return 0;
        }
        finally
        {
            if (harness is { HasExited: false })
            {
                harness.Kill(entireProcessTree: true);
                await harness.WaitForExitAsync();
            }
            await hive.DisposeAsync();
            RemoveOrKeep(root, options.Keep);
        }
    }
}
