using System.Diagnostics;
using System.Globalization;
using Hive.Bench.Infrastructure;
using Hive.Contracts.TurnStats;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The ACP harness (<c>hivectl run --acp</c>) against <see cref="FakeAcpAgent"/>'s <c>bench</c> mode. First, a wake: from
/// a <c>send</c> to alice until the agent has the prompt (it stamps the wall clock on arrival), one message at a time,
/// against the plain harness's send → COMMAND started (<see cref="WakeBench"/>'s measure) in the same run. Then the
/// harness's cost per session update: a prompt answered after K updates against one answered at once, the turn's end as
/// the harness recorded it, less what the agent itself spends writing K updates (the same lines to <c>/dev/null</c>).
/// </summary>
internal sealed class AcpBench : IBenchMode
{
    public string Name => "acp";
    public string Summary => "hivectl run --acp: send → prompt at the agent p50/p99 (vs COMMAND started), harness cost per session update";

    private const int Warmup = 10;
    private const int Updates = 10_000;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("acp");
        PrintHeader("Hive ACP harness benchmark (issue 48)", root);
        Directory.CreateDirectory(root);
        var agent = FakeAcpAgent.WriteTo(root);
        var hive = await HiveInstance.StartOnAsync(Path.Combine(root, "hive"), ["alice", "bob"], ["--Logging:LogLevel:Microsoft.AspNetCore", "Error"]);
        try
        {
            var wakes = options.Reps;
            var plainStamps = Path.Combine(root, "plain-stamps");
            var plain = await WakesAsync(hive, ["--", "/bin/sh", "-c", $"date +%s%N >> '{plainStamps}'; cat > /dev/null"], plainStamps, wakes, root, null);
            var acpStamps = Path.Combine(root, "acp-stamps");
            var acp = await WakesAsync(hive, ["--acp", "--", "python3", agent, "bench"], acpStamps, wakes, root, new() { ["FAKE_ACP_STAMPS"] = acpStamps });
            Console.WriteLine($"send → COMMAND started (plain harness): {plain}");
            Console.WriteLine($"send → prompt at the ACP agent:         {acp}");
            Console.WriteLine($"ratio ACP / plain: p50 {acp.P50 / plain.P50:0.00}, p99 {acp.P99 / plain.P99:0.00}");

            var none = new List<double>();
            var many = new List<double>();
            var writing = new List<double>();
            for (var round = 0; round < options.Rounds; round++)
            {
                none.Add(await TurnAsync(hive, agent, root, 0));
                many.Add(await TurnAsync(hive, agent, root, Updates));
                writing.Add(await WriteAloneAsync(root, Updates) - await WriteAloneAsync(root, 0));
            }
            var (t0, tk, w) = (Median(none), Median(many), Median(writing));
            Console.WriteLine($"prompt → turn ended, 0 updates: {t0:0.0} ms; {Updates} updates: {tk:0.0} ms; the agent writing {Updates} alone: {w:0.0} ms (medians of {options.Rounds})");
            Console.WriteLine($"per session update, end to end: {(tk - t0) * 1000 / Updates:0.0} µs; the agent's own writing: {w * 1000 / Updates:0.0} µs; the harness beyond it: {(tk - t0 - w) * 1000 / Updates:0.0} µs");
            Console.WriteLine($"load average at end: {LoadAverage()}");
            return 0;
        }
        finally
        {
            await hive.DisposeAsync();
            RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>Wakes one message at a time (each acknowledged before the next): send → the stamp's time, after <see cref="Warmup"/>.</summary>
    private static async Task<Latency> WakesAsync(HiveInstance hive, string[] run, string stamps, int wakes, string root, Dictionary<string, string>? env)
    {
        using var harness = StartHarness(hive, run, root, env);
        try
        {
            await using var bob = await hive.ConnectAsync("bob");
            var latencies = new List<double>();
            for (var i = 0; i < Warmup + wakes; i++)
            {
                var lines = File.Exists(stamps) ? File.ReadAllLines(stamps).Length : 0;
                var sentAt = DateTimeOffset.UtcNow;
                await bob.SendAsync("alice", $"wake {i}");
                await HiveInstance.Until(() => File.Exists(stamps) && File.ReadAllLines(stamps).Length > lines, TimeSpan.FromSeconds(60), $"wake {i}");
                var ns = long.Parse(File.ReadAllLines(stamps)[lines], CultureInfo.InvariantCulture);
                if (i >= Warmup) latencies.Add((FromUnixNanoseconds(ns) - sentAt).TotalMilliseconds);
                await HiveInstance.Until(() => hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'alice' AND delivered_at IS NULL") == 0,
                    TimeSpan.FromSeconds(60), $"wake {i} acknowledged");
            }
            return Latency.Of(latencies);
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    /// <summary>One turn of an ACP agent answering after <paramref name="updates"/> updates: from the prompt's arrival to the turn's end the harness recorded, in ms.</summary>
    private static async Task<double> TurnAsync(HiveInstance hive, string agent, string root, int updates)
    {
        var stamps = Path.Combine(root, $"turn-{Guid.NewGuid():N}");
        var before = (await hive.GetAsync<TurnView[]>("/api/agents/alice/turns")).FirstOrDefault()?.Id ?? 0; // newest first, a page of them
        using var harness = StartHarness(hive, ["--acp", "--", "python3", agent, "bench"], root,
            new() { ["FAKE_ACP_STAMPS"] = stamps, ["FAKE_ACP_UPDATES"] = updates.ToString(CultureInfo.InvariantCulture) });
        try
        {
            await using (var bob = await hive.ConnectAsync("bob")) await bob.SendAsync("alice", "go");
            TurnView[] turns = [];
            await HiveInstance.Until(() => (turns = hive.GetAsync<TurnView[]>("/api/agents/alice/turns").GetAwaiter().GetResult()).FirstOrDefault()?.Id > before,
                TimeSpan.FromSeconds(120), "the turn recorded");
            var ns = long.Parse(File.ReadAllLines(stamps)[0], CultureInfo.InvariantCulture);
            return (turns[0].EndedAt - FromUnixNanoseconds(ns)).TotalMilliseconds;
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    /// <summary>The agent's own cost: python writing <paramref name="updates"/> update lines to /dev/null, in ms (a process's whole life).</summary>
    private static async Task<double> WriteAloneAsync(string root, int updates)
    {
        // As the fake agent writes them: one write and one flush a line.
        var script = $"import json, sys\nfor i in range({updates}):\n    sys.stdout.write(json.dumps({{'jsonrpc': '2.0', 'method': 'session/update', 'params': {{'sessionId': 's', 'update': {{'sessionUpdate': 'agent_message_chunk', 'content': {{'type': 'text', 'text': 'x'}}}}}}}}) + '\\n'); sys.stdout.flush()\n";
        var file = Path.Combine(root, $"write-{updates}.py");
        await File.WriteAllTextAsync(file, script);
        var info = new ProcessStartInfo("python3", [file]) { RedirectStandardOutput = true };
        var clock = Stopwatch.StartNew();
        using var python = Process.Start(info)!;
        await python.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        await python.WaitForExitAsync();
        return clock.Elapsed.TotalMilliseconds;
    }

    private static Process StartHarness(HiveInstance hive, string[] run, string root, Dictionary<string, string>? env)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        foreach (var arg in new[] { Hivectl, "run", "--socket", hive.SocketPath("alice") }.Concat(run)) info.ArgumentList.Add(arg);
        info.Environment["FAKE_ACP_LOG"] = "/dev/null";
        foreach (var (name, value) in env ?? []) info.Environment[name] = value;
        var harness = Process.Start(info)!;
        _ = harness.StandardOutput.ReadToEndAsync();
        _ = harness.StandardError.ReadToEndAsync();
        return harness;
    }

    /// <summary>SIGTERM (the harness stops its agent), then its whole tree if anything is left.</summary>
    private static async Task StopAsync(Process harness)
    {
        if (harness.HasExited) return;
        Process.Start("kill", ["-TERM", harness.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try { await harness.WaitForExitAsync(grace.Token); }
        catch (OperationCanceledException) { harness.Kill(entireProcessTree: true); await harness.WaitForExitAsync(); }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
