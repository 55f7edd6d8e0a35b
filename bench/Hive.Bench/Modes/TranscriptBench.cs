using System.Diagnostics;
using System.Text.Json;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The live transcript bench: a transcript entry from the moment COMMAND prints it (the wall clock it puts in the text,
/// <c>date +%s%N</c> just before the <c>echo</c>) until the <c>transcript</c> event carrying it is read on the agent's
/// stream (<c>/api/events?agent=alice</c>). One turn; COMMAND prints one assistant text line per line the bench writes
/// to a FIFO, and the next is written once the last has arrived (latency unloaded by the bench itself); the first 10
/// are warm-up. Each entry crosses hivectl's stdout reader, the <c>transcript</c> verb (one SQLite commit), the relay
/// and the SSE flush.
/// </summary>
internal sealed class TranscriptBench : IBenchMode
{
    public string Name => "transcript";
    public string Summary => "hivectl run: transcript entry printed by COMMAND → on the agent's SSE stream, p50/p99 over 500 entries (--messages)";

    private const int Warmup = 10;
    private const int DefaultEntries = 500;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("transcript");
        PrintHeader("Hive live transcript benchmark (issue 30 item 1)", root);
        var hivectl = Hivectl;
        var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "hive"), ["alice", "bob"], ["--Logging:LogLevel:Microsoft.AspNetCore", "Error"]);
        var fifo = Path.Combine(root, "lines");
        using (var mkfifo = Process.Start("mkfifo", [fifo])) await mkfifo.WaitForExitAsync();
        var script = Path.Combine(root, "command.sh");
        await File.WriteAllTextAsync(script, $$$"""
            cat > /dev/null
            exec 3< '{{{fifo}}}'
            while read -r i <&3; do
              echo '{"type":"assistant","message":{"model":"bench","content":[{"type":"text","text":"entry '"$i $(date +%s%N)"'"}]}}'
            done
            """);
        Process? harness = null;
        try
        {
            await using var page = await SseStream.OpenAsync(hive.BaseAddress, hive.Token, "/api/events?agent=alice");
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { hivectl, "run", "--socket", hive.SocketPath("alice"), "--", "/bin/sh", script })
                info.ArgumentList.Add(arg);
            harness = Process.Start(info)!;
            _ = harness.StandardOutput.ReadToEndAsync();
            _ = harness.StandardError.ReadToEndAsync();
            await using (var bob = await hive.ConnectAsync("bob")) await bob.SendAsync("alice", "talk");

            // Opening a FIFO for writing waits for its reader: COMMAND, once the turn has begun.
            await using var lines = new StreamWriter(new FileStream(fifo, FileMode.Open, FileAccess.Write)) { AutoFlush = true };
            var latencies = new List<double>();
            var entries = options.Messages ?? DefaultEntries;
            for (var i = 0; i < Warmup + entries; i++)
            {
                await lines.WriteLineAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var (printedNs, arrived) = await ArrivalAsync(page, i);
                var printed = FromUnixNanoseconds(printedNs);
                if (i >= Warmup) latencies.Add((arrived - printed).TotalMilliseconds);
            }
            Console.WriteLine($"printed by COMMAND → on the agent's stream: {Latency.Of(latencies)}");
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

    /// <summary>The clock COMMAND printed entry <paramref name="i"/> with, and when its event was read.</summary>
    private static async Task<(long PrintedNs, DateTimeOffset Arrived)> ArrivalAsync(SseStream page, int i)
    {
        var prefix = $"entry {i} ";
        while (true)
        {
            var e = await page.NextAsync(TimeSpan.FromSeconds(30)) ?? throw new IOException("the stream ended");
            var arrived = DateTimeOffset.UtcNow;
            if (e.Type != "transcript") continue;
            foreach (var entry in e.Json.GetProperty("entries").EnumerateArray())
                if (entry.GetProperty("text").GetString() is { } text && text.StartsWith(prefix, StringComparison.Ordinal))
                    return (long.Parse(text[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture), arrived);
        }
    }
}
