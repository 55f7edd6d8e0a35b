using System.Diagnostics;
using System.Net;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The operator is never locked out, measured on the built host run as a child process: the operator's
/// <c>GET /api/state</c> with the Bearer token, 200 times on one kept-alive connection and 200 times on a new connection
/// each (the hard case: a new connection is unauthenticated until its first request is read), (a) on an idle host,
/// (b) while <see cref="ConnectionFlood"/> holds 1 000 unauthenticated connections (500 kept alive after
/// <c>GET /healthz</c>, 500 silent; each re-opened 1 s after the host closes it, the issue's "held open") and has opened
/// 1 000 event streams with the token, (c) the same re-opening after 250 ms, and (d) re-opening at once (a storm that keeps the CPU busy: the budget closes the
/// oldest, which comes straight back). The operator's requests run on a thread of their own with synchronous I/O (in
/// life it is another process, not one sharing the flood's thread pool). Failures are counted, not retried, and are the
/// verdict line, not the exit code: how many a storm costs depends on the load beside it. <c>--reps</c>: requests per
/// line (200).
/// </summary>
internal sealed class LockoutBench : IBenchMode
{
    public string Name => "lockout";
    public string Summary => "operator GET /api/state p50/p99 idle vs under 1 000 unauthenticated connections + 1 000 event streams";

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot(Name);
        PrintHeader("Hive lockout benchmark (issue 24, item 4)", root);
        Console.WriteLine($"host: dotnet {HostProcess.HostDll}");
        var summary = new List<string>();
        var failed = 0;
        var samples = options.Reps;
        try
        {
            await using var host = await HostProcess.StartAsync(Path.Combine(root, "data"), []);
            using var http = host.CreateClient(TimeSpan.FromSeconds(30));
            Measure(http, Math.Min(50, samples), newConnections: false); // warm-up: JIT, the first cold loads
            Measure(http, Math.Min(50, samples), newConnections: true);

            void Case(string name)
            {
                foreach (var fresh in new[] { false, true })
                {
                    var (latency, failures) = Measure(http, samples, fresh);
                    failed += failures;
                    var line = $"{name,-34} {(fresh ? "new connection each" : "kept-alive connection"),-22} {latency}  failures {failures}/{samples}";
                    Console.WriteLine(line);
                    summary.Add(line);
                }
            }

            Console.WriteLine($"-- operator GET /api/state, {samples} requests per line (load {LoadAverage()}) --");
            Case("(a) idle host");
            foreach (var (name, delay) in new[] { ("(b) flood held, re-open after 1 s", 1_000), ("(c) flood, re-open after 250 ms", 250), ("(d) flood, re-open at once", 0) })
            {
                await using var flood = await ConnectionFlood.StartAsync(host.BaseAddress, host.Token!, keepAlive: 500, silent: 500, streams: 1_000,
                    reopenDelay: TimeSpan.FromMilliseconds(delay));
                var closedBefore = flood.ClosedByServer;
                var connectedBefore = flood.Connected;
                var clock = Stopwatch.StartNew();
                Case(name);
                var seconds = clock.Elapsed.TotalSeconds;
                var refused = string.Join(", ", flood.RefusedStatuses.Select(s => $"{s.Value}×{s.Key}"));
                var note = $"   streams: {flood.StreamsAccepted} accepted, {flood.StreamsRefused} refused ({refused}), {flood.RefusedStreamsClosed} of those closed by the host; " +
                           $"unauthenticated: {Stats.N((flood.Connected - connectedBefore) / seconds)} connects/s, " +
                           $"{Stats.N((flood.ClosedByServer - closedBefore) / seconds)} closed by the host/s (load {LoadAverage()})";
                Console.WriteLine(note);
                summary.Add(note);
            }
            Console.WriteLine($"host alive: {!host.HasExited}");
        }
        finally
        {
            if (!options.Keep)
            {
                try { Directory.Delete(root, recursive: true); } catch (IOException) { }
            }
        }
        Console.WriteLine();
        Console.WriteLine("==== summary (lockout) ====");
        Console.WriteLine($"command: dotnet run -c Release --project bench/Hive.Bench -- lockout --reps {samples}");
        Console.WriteLine($"cores: {Environment.ProcessorCount}; load average at end: {LoadAverage()}");
        foreach (var line in summary) Console.WriteLine(line);
        Console.WriteLine($"operator requests failed: {failed} ({(failed == 0 ? "never locked out" : "LOCKED OUT at times")})");
        return 0;
    }

    /// <summary>Operator requests from a thread of their own; latencies of the successful ones, and the failures.</summary>
    private static (Latency Latency, int Failures) Measure(HttpClient http, int count, bool newConnections)
    {
        var latencies = new List<double>(count);
        var failures = 0;
        var thread = new Thread(() =>
        {
            for (var i = 0; i < count; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/api/state");
                request.Headers.ConnectionClose = newConnections;
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = http.Send(request);
                    response.Content.ReadAsStream().CopyTo(Stream.Null);
                    if (response.StatusCode == HttpStatusCode.OK) latencies.Add(Stats.Ms(Stopwatch.GetTimestamp() - started));
                    else failures++;
                }
                catch (HttpRequestException)
                {
                    failures++;
                }
            }
        })
        { IsBackground = true, Name = "operator" };
        thread.Start();
        thread.Join();
        return (Latency.Of(latencies), failures);
    }
}
