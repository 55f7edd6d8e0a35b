using System.Diagnostics;
using System.Globalization;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The governance bench, the throttle under a swarm. (1) The grant latency when a slot is free: <c>begin_turn</c>'s round trip
/// against <c>whoami</c>'s on the same connection (the ratio is the figure where the machine is noisy). (2) 50 agents (<c>--agents</c>)
/// under <c>hivectl run</c> with a fake COMMAND of 100–300 ms and <c>MaxConcurrentTurns</c> 8, one message to every agent
/// per round (<c>--rounds</c>): the peak of COMMANDs running at once (from their own start/end stamps, and sampled from
/// <c>/api/governance</c>; must be ≤ 8), the longest queue wait against the fair bound, messages lost (must be 0). (3) 50
/// running turns (a hive with room for all) and a halt: how long until every COMMAND has ended.
/// </summary>
internal sealed class GovernanceBench : IBenchMode
{
    public string Name => "governance";
    public string Summary => "the throttle: grant latency, 50 harness agents through 8 slots, halt of 50 running turns";

    private const int DefaultAgents = 50;
    private const int Slots = 8;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("governance");
        PrintHeader("Hive governance benchmark (issue 27)", root);
        try
        {
            await GrantLatencyAsync(root);
            var agents = options.Agents ?? DefaultAgents;
            var ok = await SwarmAsync(root, agents, options.Rounds);
            ok &= await HaltAsync(root, agents);
            Console.WriteLine($"load average at end: {LoadAverage()}");
            return ok ? 0 : 1;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    private static async Task GrantLatencyAsync(string root)
    {
        await using var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "grant"), ["alice"], ["--Logging:LogLevel:Microsoft.AspNetCore", "Error"]);
        await using var agent = await hive.ConnectAsync("alice");
        await using var recorder = await hive.ConnectAsync("alice");
        var grants = new List<double>();
        var whoamis = new List<double>();
        for (var i = 0; i < 2200; i++)
        {
            var started = Stopwatch.GetTimestamp();
            AgentClient.Ok(await agent.CallAsync(new { op = "whoami" }));
            var whoami = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            started = Stopwatch.GetTimestamp();
            var turn = AgentClient.Ok(await agent.CallAsync(new { op = "begin_turn", wait_ms = 0 })).GetProperty("turn_id").GetInt64();
            var grant = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            AgentClient.Ok(await recorder.CallAsync(Record(turn)));
            if (i < 200) continue; // warm-up
            grants.Add(grant);
            whoamis.Add(whoami);
        }
        var g = Latency.Of(grants);
        var w = Latency.Of(whoamis);
        Console.WriteLine($"begin_turn, a slot free:  {g}");
        Console.WriteLine($"whoami (same connection): {w}");
        Console.WriteLine($"grant p99: {Stats.F(g.P99, 3)} ms (goal < 2 ms: {Verdict(g.P99, 2)}); p50 ratio to whoami {Stats.F(g.P50 / w.P50, 2)}×");
    }

    private static async Task<bool> SwarmAsync(string root, int agents, int rounds)
    {
        var names = Enumerable.Range(0, agents).Select(i => $"a{i:00}").ToArray();
        var stamps = Path.Combine(root, "swarm-stamps");
        await using var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "swarm"), [.. names, "driver"],
            ["--Logging:LogLevel:Microsoft.AspNetCore", "Error", "--Hive:Governance:MaxConcurrentTurns", Slots.ToString(CultureInfo.InvariantCulture)]);
        var script = $$$"""
            echo "start $(date +%s%N) $$" >> '{{{stamps}}}'
            cat > /dev/null
            ms=$(( $(od -An -N2 -tu2 /dev/urandom) % 201 + 100 ))
            sleep "$(printf '0.%03d' "$ms")"
            echo "end $(date +%s%N) $$" >> '{{{stamps}}}'
            echo '{"type":"result","is_error":false,"total_cost_usd":0.001,"usage":{"input_tokens":10,"output_tokens":5}}'
            """;
        var harnesses = names.Select(n => StartHarness(hive.SocketPath(n), script)).ToList();
        try
        {
            await using var driver = await hive.ConnectAsync("driver");
            var sampled = 0;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    var view = await hive.GetJsonAsync("/api/governance");
                    sampled = Math.Max(sampled, view.GetProperty("slots_in_use").GetInt32());
                    await Task.Delay(20);
                }
            });
            var sent = 0;
            var clock = Stopwatch.StartNew();
            for (var round = 0; round < rounds; round++)
            {
                foreach (var name in names)
                {
                    await driver.SendAsync(name, $"round {round}");
                    sent++;
                }
                await HiveInstance.Until(() => hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'driver' AND delivered_at IS NULL") == 0,
                    TimeSpan.FromMinutes(5), $"round {round} acknowledged");
            }
            var elapsed = clock.Elapsed;
            await sampling.CancelAsync();
            await sampler;

            var delivered = hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'driver' AND delivered_at IS NOT NULL");
            var peak = PeakOverlap(stamps);
            var waits = hive.QueryDbList<long>("SELECT waited_ms FROM governed_turns WHERE ended_at IS NOT NULL");
            var durations = hive.QueryDbList<(DateTimeOffset Granted, DateTimeOffset Ended)>(
                "SELECT granted_at, ended_at FROM governed_turns WHERE ended_at IS NOT NULL").Select(t => (t.Ended - t.Granted).TotalMilliseconds).ToList();
            var turn = Latency.Of(durations);
            // Fair: a waiter has at most every other agent ahead of it once, served 8 at a time.
            var bound = Math.Ceiling((agents - 1) / (double)Slots) * turn.P99;
            Console.WriteLine($"swarm: {agents} agents, {Slots} slots, {rounds} rounds, {sent} messages in {Stats.F(elapsed.TotalSeconds, 1)} s, " +
                              $"{waits.Count} turns");
            Console.WriteLine($"  COMMANDs at once, peak from their stamps: {peak}; sampled from /api/governance: {sampled} (must be ≤ {Slots}: " +
                              $"{(peak <= Slots && sampled <= Slots ? "met" : "MISSED")})");
            Console.WriteLine($"  turn (grant → record): {turn}");
            Console.WriteLine($"  longest queue wait: {waits.DefaultIfEmpty().Max()} ms; fair bound ⌈49/8⌉ × turn p99 = {Stats.F(bound, 0)} ms " +
                              $"({(waits.DefaultIfEmpty().Max() <= bound ? "within" : "OVER")})");
            Console.WriteLine($"  messages lost: {sent - delivered} (must be 0)");
            return peak <= Slots && sampled <= Slots && sent == delivered;
        }
        finally
        {
            await StopAllAsync(harnesses);
        }
    }

    private static async Task<bool> HaltAsync(string root, int agents)
    {
        var names = Enumerable.Range(0, agents).Select(i => $"h{i:00}").ToArray();
        var stamps = Path.Combine(root, "halt-stamps");
        await using var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "halt"), [.. names, "driver"],
            ["--Logging:LogLevel:Microsoft.AspNetCore", "Error", "--Hive:Governance:MaxConcurrentTurns", "64"]);
        var script = $"""
            echo "start $(date +%s%N) $$" >> '{stamps}'
            cat > /dev/null
            sleep 600
            """;
        var harnesses = names.Select(n => StartHarness(hive.SocketPath(n), script)).ToList();
        try
        {
            await using var driver = await hive.ConnectAsync("driver");
            foreach (var name in names) await driver.SendAsync(name, "think long");
            await HiveInstance.Until(() => File.Exists(stamps) && File.ReadAllLines(stamps).Length >= agents, TimeSpan.FromMinutes(3), $"{agents} COMMANDs running");
            var pids = File.ReadAllLines(stamps).Select(l => int.Parse(l.Split(' ')[2], CultureInfo.InvariantCulture)).ToList();
            var halted = Stopwatch.StartNew();
            using (var halt = await hive.Http.PostAsync("/api/governance/halt", null)) halt.EnsureSuccessStatusCode();
            var endedAt = new Dictionary<int, double>();
            while (endedAt.Count < pids.Count && halted.Elapsed < TimeSpan.FromSeconds(30))
            {
                foreach (var pid in pids.Where(p => !endedAt.ContainsKey(p) && !Directory.Exists($"/proc/{p}"))) endedAt[pid] = halted.Elapsed.TotalMilliseconds;
                await Task.Delay(5);
            }
            var ended = Latency.Of(endedAt.Values);
            Console.WriteLine($"halt with {pids.Count} running turns: COMMANDs ended {endedAt.Count}/{pids.Count}; halt → COMMAND gone: {ended}");
            return endedAt.Count == pids.Count;
        }
        finally
        {
            await StopAllAsync(harnesses);
        }
    }

    private static object Record(long turnId)
    {
        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        return new { op = "record_turn", turn_id = turnId, result_kind = "ok", started_at = now, ended_at = now };
    }

    /// <summary>The most COMMANDs running at one moment, from the start/end lines they wrote.</summary>
    private static int PeakOverlap(string stamps)
    {
        var edges = File.ReadAllLines(stamps).Select(l => l.Split(' '))
            .Select(f => (At: long.Parse(f[1], CultureInfo.InvariantCulture), Delta: f[0] == "start" ? 1 : -1))
            .OrderBy(e => e.At).ThenBy(e => e.Delta); // an end and a start at the same nanosecond do not overlap
        int running = 0, peak = 0;
        foreach (var edge in edges) peak = Math.Max(peak, running += edge.Delta);
        return peak;
    }

    private static Process StartHarness(string socket, string script)
    {
        var hivectl = Hivectl;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { hivectl, "run", "--socket", socket, "--", "/bin/sh", "-c", script }) info.ArgumentList.Add(arg);
        var harness = Process.Start(info)!;
        _ = harness.StandardOutput.ReadToEndAsync();
        _ = harness.StandardError.ReadToEndAsync();
        return harness;
    }

    private static async Task StopAllAsync(IEnumerable<Process> harnesses)
    {
        foreach (var harness in harnesses)
        {
            if (!harness.HasExited) harness.Kill(entireProcessTree: true);
            await harness.WaitForExitAsync();
            harness.Dispose();
        }
    }
}
