using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Hive.Bench.Infrastructure;
using Hive.Testing;

namespace Hive.Bench.Modes;

/// <summary>
/// Replay memory: the host's resident memory while a herd of dashboards resumes from the oldest event of a full
/// replay ring at once (the herd a burst that overflows every subscriber's queue causes). The host is the built
/// <c>Hive.Host.dll</c> as a child process, so its <c>/proc/&lt;pid&gt;/status</c> is the host's alone.
/// </summary>
public sealed class ReplayBench : IBenchMode
{
    private const int RingEvents = 10_000;
    private const int BodyBytes = 1000; // near the 1 KiB send cap: the heaviest events the ring can hold

    public string Name => "replay";
    public string Summary => "host RSS while --subscribers SSE clients (100) resume 10 000 ring events at once (goal < 300 MiB)";

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = BenchEnvironment.TempRoot(Name);
        var dataDir = Path.Combine(root, "data");
        BenchEnvironment.PrintHeader($"replay: {options.Subscribers} SSE clients resume {RingEvents} events at once", dataDir);
        Console.WriteLine($"host: dotnet {HostProcess.HostDll}");
        try
        {
            await using var host = await HostProcess.StartAsync(dataDir, ["alice", "bob"],
                extraArgs:
                [
                    "--Hive:Dashboard:ReplayCapacity", RingEvents.ToString(CultureInfo.InvariantCulture),
                    // One agent sends the whole ring (~10 MiB of bodies), over the default hourly budget of 8 MiB.
                    "--Hive:Messages:BytesPerHour", (64L * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
                    .. BenchEnvironment.EventStreamsFromOneClient(options.Subscribers),
                ]);
            var hostPid = host.ProcessId;
            Console.WriteLine($"after start: VmRSS {ProcStat.Status(hostPid, "VmRSS") / 1024.0:F0} MiB");

            // Fill the ring: a little more than it holds, so the oldest id a client can resume from is a full ring back.
            var fill = Stopwatch.StartNew();
            var body = new string('x', BodyBytes);
            var line = Encoding.UTF8.GetBytes($"{{\"op\":\"send\",\"to\":\"bob\",\"body\":\"{body}\"}}\n");
            const int senders = 8;
            var perSender = (RingEvents + 100) / senders + 1;
            await Task.WhenAll(Enumerable.Range(0, senders).Select(async _ =>
            {
                await using var client = await host.ConnectLinesAsync("alice");
                for (var i = 0; i < perSender; i++)
                {
                    var reply = await client.CallAsync(line);
                    if (!Reply.IsOk(reply.Span)) throw new InvalidOperationException(Reply.Text(reply.Span));
                }
            }));
            Console.WriteLine($"filled: {senders * perSender} sends in {fill.Elapsed.TotalSeconds:F1} s");

            using var http = host.CreateClient(TimeSpan.FromSeconds(30));
            var state = await http.GetStringAsync("/api/state");
            var seq = System.Text.Json.JsonDocument.Parse(state).RootElement.GetProperty("seq").GetInt64();
            var from = seq - RingEvents; // the oldest id the ring still covers (it holds (seq - RingEvents, seq])
            // Let the filling's garbage go before the baseline, so the herd's own cost is what the figures show.
            var before = ProcStat.Status(hostPid, "VmRSS");
            var hwmBefore = ProcStat.Status(hostPid, "VmHWM");
            Console.WriteLine($"before the herd: VmRSS {before / 1024.0:F0} MiB, VmHWM {hwmBefore / 1024.0:F0} MiB (seq {seq})");

            var peak = before;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, ProcStat.Status(hostPid, "VmRSS"));
                    try { await Task.Delay(10, sampling.Token); } catch (OperationCanceledException) { }
                }
            });

            var herd = Stopwatch.StartNew();
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var clients = Enumerable.Range(0, options.Subscribers).Select(_ => ResumeAsync(host, from, RingEvents, start.Task)).ToArray();
            start.SetResult();
            var received = await Task.WhenAll(clients);
            var elapsed = herd.Elapsed;
            var after = ProcStat.Status(hostPid, "VmRSS");
            await sampling.CancelAsync();
            await sampler;
            peak = Math.Max(peak, after);
            var hwm = ProcStat.Status(hostPid, "VmHWM");

            var complete = received.Count(r => r == RingEvents);
            Console.WriteLine($"herd: {complete}/{options.Subscribers} clients received all {RingEvents} events in {elapsed.TotalSeconds:F1} s" +
                              (complete == options.Subscribers ? "" : $" (short: {string.Join(',', received.Where(r => r != RingEvents).Take(5))})"));
            Console.WriteLine($"host VmRSS: before {before / 1024.0:F0} MiB, peak sampled {peak / 1024.0:F0} MiB, after {after / 1024.0:F0} MiB; " +
                              $"VmHWM {hwm / 1024.0:F0} MiB");
            var peakMiB = Math.Max(peak, hwm > hwmBefore ? hwm : 0) / 1024.0;
            Console.WriteLine($"(a) host peak RSS during the herd: {peakMiB:F0} MiB   goal < 300 MiB: {BenchEnvironment.Verdict(peakMiB, 300)}");
            Console.WriteLine($"load average at end: {BenchEnvironment.LoadAverage()}");
            return complete == options.Subscribers ? 0 : 1;
        }
        finally
        {
            BenchEnvironment.RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>One dashboard resuming from <paramref name="from"/>: reads until it has every replayed <c>sent</c> event.</summary>
    private static async Task<int> ResumeAsync(HostProcess host, long from, int expected, Task start)
    {
        await start;
        using var http = host.CreateClient(Timeout.InfiniteTimeSpan);
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.Add("Last-Event-ID", from.ToString(CultureInfo.InvariantCulture));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var seen = 0;
        while (seen < expected && await reader.ReadLineAsync(timeout.Token) is { } line)
            if (line == "event: sent") seen++;
        return seen;
    }
}
