using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Hive.Bench.Infrastructure;
using Hive.Features.Containers;
using Hive.Features.Containers.Runtime;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The usage bench line: the usage loop's cost with <c>--agents</c> (200) idle process agents (<c>exec sleep</c>), at its
/// default <c>Hive:Containers:UsageSeconds</c> of 5, over a 60 s window (goal: &lt; 1 % of one core). Two figures from one
/// run, each hive in this process: (1) the loop's own reading time (<see cref="AgentUsageLoop.ReadingTime"/>, wall time
/// around its reads: an upper bound on their CPU) per second of the window; (2) this process's CPU time (utime + stime of
/// <c>/proc/self/stat</c>) over the same window with the loop at 5 s, against a second hive of the same agents with the
/// loop off (<c>UsageSeconds</c> 3600: it ticks once at start-up, before the window); the difference is the loop and the
/// noise of everything else the host does while idle.
/// </summary>
internal sealed class UsageBench : IBenchMode
{
    public string Name => "usage";
    public string Summary => "the usage loop's CPU with 200 idle agents at UsageSeconds 5 (goal < 1 % of one core)";

    private const double DefaultWindowSeconds = 60;
    private const double GoalPercent = 1;
    private const int Concurrency = 8;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot(Name);
        PrintHeader("Hive usage-loop benchmark (issue 28)", root);
        // --seconds: the window per hive (its own default, 60 s, when not given).
        var window = options.Seconds == new BenchOptions().Seconds ? DefaultWindowSeconds : options.Seconds;
        Console.WriteLine($"options: --agents {(options.Agents ?? 200)}; window {window} s per hive");
        try
        {
            var on = await MeasureAsync(Path.Combine(root, "loop-on"), (options.Agents ?? 200), usageSeconds: 5, window);
            var off = await MeasureAsync(Path.Combine(root, "loop-off"), (options.Agents ?? 200), usageSeconds: 3600, window);
            var loopPercent = on.ReadingSeconds / on.WindowSeconds * 100;
            var processOn = on.CpuSeconds / on.WindowSeconds * 100;
            var processOff = off.CpuSeconds / off.WindowSeconds * 100;
            Console.WriteLine();
            Console.WriteLine("==== summary (usage) ====");
            Console.WriteLine("command: dotnet run -c Release --project bench/Hive.Bench -- usage" + $" --agents {(options.Agents ?? 200)} --seconds {window}");
            Console.WriteLine($"cores: {Environment.ProcessorCount}; load average at end: {LoadAverage()}");
            Console.WriteLine($"agents in cgroups: {on.InCgroups} of {(options.Agents ?? 200)} (limits {(on.LimitsOn ? "on" : "OFF: nothing to read, the figure means nothing")})");
            Console.WriteLine($"loop's reading time at 5 s: {Stats.F(on.ReadingSeconds * 1000, 1)} ms over {Stats.F(on.WindowSeconds, 1)} s in {on.Ticks} ticks " +
                              $"({Stats.F(on.ReadingSeconds * 1000 / Math.Max(1, on.Ticks), 2)} ms per tick) = {Stats.F(loopPercent, 3)} % of one core " +
                              $"(goal < {GoalPercent} %: {Verdict(loopPercent, GoalPercent)})");
            Console.WriteLine($"process CPU, loop at 5 s: {Stats.F(processOn, 3)} % of one core; loop off: {Stats.F(processOff, 3)} %; " +
                              $"difference {Stats.F(processOn - processOff, 3)} points (the loop plus the idle host's noise)");
            Console.WriteLine($"agent_usage events during the 5 s window (idle agents, so few or none): {on.Events}");
            return 0; // without cgroups the line above says the figure means nothing; a missed goal is the verdict line (README, "Exit codes")
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    private sealed record Figures(double WindowSeconds, double CpuSeconds, double ReadingSeconds, long Ticks, int InCgroups, bool LimitsOn, int Events);

    private static async Task<Figures> MeasureAsync(string dataDir, int count, double usageSeconds, double windowSeconds)
    {
        Console.WriteLine();
        Console.WriteLine($"-- {count} idle agents, UsageSeconds {usageSeconds} (load {LoadAverage()}) --");
        await using var hive = await HiveInstance.StartOnAsync(dataDir, [],
        [
            "--Logging:LogLevel:Microsoft.AspNetCore", "Error",
            "--Hive:Containers:UsageSeconds", usageSeconds.ToString(CultureInfo.InvariantCulture),
        ]);
        // The start-up's reconciliation first: an agent created while it runs can be taken for one of a previous life.
        var reconciling = Stopwatch.StartNew();
        await hive.Service<AgentsStartUp>().Reconciled.WaitAsync(TimeSpan.FromMinutes(2));
        Console.WriteLine($"start-up reconciled after {Stats.F(reconciling.Elapsed.TotalSeconds, 2)} s more");
        using var http = hive.CreateClient();
        http.Timeout = TimeSpan.FromMinutes(2);
        var names = Enumerable.Range(0, count).Select(i => $"idle-{i:000}").ToArray();
        var clock = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(Concurrency))
            await Task.WhenAll(names.Select(async name =>
            {
                await gate.WaitAsync();
                try
                {
                    using var created = await http.PostAsJsonAsync("/api/agents", new
                    {
                        name, driver = "process", restart = "never", command = new[] { "/bin/sh", "-c", "exec sleep 100000" },
                    });
                    if (!created.IsSuccessStatusCode)
                        throw new InvalidOperationException($"{name}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
                }
                finally
                {
                    gate.Release();
                }
            }));
        Console.WriteLine($"created {count} agents in {Stats.F(clock.Elapsed.TotalSeconds, 1)} s");

        var cgroups = hive.Service<AgentCgroups>();
        var loop = hive.Service<AgentUsageLoop>();
        // Settle: the creates' own work (meta commits, rows) is over, and each agent's first reading (its only event) is made.
        var settled = loop.CompletedTicks;
        var settleUntil = DateTime.UtcNow.AddSeconds(Math.Min(Math.Min(15, windowSeconds / 4), usageSeconds * 2.5));
        while (DateTime.UtcNow < settleUntil && (usageSeconds > 60 || loop.CompletedTicks < settled + 2)) await Task.Delay(250);

        await using var events = await hive.OpenEventsAsync();
        var cpuBefore = ProcStat.CpuMs(Environment.ProcessId) / 1000;
        var readingBefore = loop.ReadingTime;
        var ticksBefore = loop.CompletedTicks;
        var window = Stopwatch.StartNew();
        var usageEvents = 0;
        var until = TimeSpan.FromSeconds(windowSeconds);
        while (window.Elapsed < until)
        {
            SseEvent? e;
            try { e = await events.NextAsync(until - window.Elapsed); }
            catch (OperationCanceledException) { break; } // the window is over
            if (e is null) break;
            if (e.Type == "agent_usage") usageEvents++;
        }
        var figures = new Figures(window.Elapsed.TotalSeconds, ProcStat.CpuMs(Environment.ProcessId) / 1000 - cpuBefore, (loop.ReadingTime - readingBefore).TotalSeconds,
            loop.CompletedTicks - ticksBefore, cgroups.Running.Count, cgroups.LimitsOn, usageEvents);
        Console.WriteLine($"window {Stats.F(figures.WindowSeconds, 1)} s: process CPU {Stats.F(figures.CpuSeconds * 1000, 0)} ms, loop reading " +
                          $"{Stats.F(figures.ReadingSeconds * 1000, 1)} ms in {figures.Ticks} ticks, {usageEvents} agent_usage events");

        clock.Restart();
        using (var gate = new SemaphoreSlim(Concurrency))
            await Task.WhenAll(names.Select(async name =>
            {
                await gate.WaitAsync();
                try { using var _ = await http.DeleteAsync($"/api/agents/{name}"); }
                finally { gate.Release(); }
            }));
        Console.WriteLine($"destroyed them in {Stats.F(clock.Elapsed.TotalSeconds, 1)} s");
        return figures;
    }
}
