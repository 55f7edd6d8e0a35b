using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using Microsoft.Data.Sqlite;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// A swarm of agents run by the host (process driver, <c>hivectl run -- /bin/sh swarm-agent.sh</c>), the
/// governor on (8 slots, budgets high), a scripted operator answering questions and keeping mail flowing over HTTP, and
/// <c>--kills</c> SIGKILLs of the host at random moments (restarted on the same data dir; it restarts its agents).
/// The fake COMMAND (<see cref="SwarmAgent"/>) logs every message it is handed (with the turn's start stamp and the
/// redelivered flag), makes its turn's model calls through the hive's gateway (python3: 1–3 streamed Messages calls to a
/// fake provider in this process, <see cref="StreamingProvider"/>, first byte after 200–800 ms, 20–60 deltas, the
/// provider's <c>MaxInFlight</c> 8), replies once to a random peer or the operator (awk's rand, seeded by the bench seed,
/// the agent and its turn number), sometimes schedules a reminder to itself or asks the operator, and prints stream-json
/// with tokens. Every body is <c>swarm &lt;uid&gt;</c>; the database (which survives the kills) is the list of what was
/// sent, the agents' logs what was delivered. At the end: the agents are told to stop replying, the hive drains, and
/// lost = committed messages no COMMAND (or, for the operator, no inbox) ever got, plus acknowledged sends missing from
/// the database (<see cref="SwarmReport"/>). The model calls: <see cref="SwarmModelCalls"/> (metered against served, and
/// the gateway's added time to first byte). The run's shared state, the host's kills and restarts: <see cref="SwarmRun"/>;
/// the operator: <see cref="SwarmOperator"/>.
/// </summary>
internal sealed class SwarmBench : IBenchMode
{
    public string Name => "swarm";
    public string Summary => "N agents under hivectl run, model calls through the gateway, governor on, scripted operator, SIGKILLs of the host: lost/duplicated mail, calls metered vs served, added first byte, RSS";

    private const int DefaultAgents = 50;
    private const int DefaultKills = 0;
    private const double DefaultMinutes = 10;
    private const int Slots = 8;
    private const int ProviderSlots = 8;
    private const double RssGoalMib = 300;
    private static readonly TimeSpan DrainLimit = TimeSpan.FromMinutes(3);

    public async Task<int> RunAsync(BenchOptions options)
    {
        if (SwarmAgent.FindPython() is not { } python)
        {
            Console.Error.WriteLine("swarm: the agents' model client needs python3 at /usr/bin/python3 (apt-get install python3)");
            return 2;
        }
        var settings = new SwarmSettings(options.Agents ?? DefaultAgents, options.Kills ?? DefaultKills, options.Minutes ?? DefaultMinutes, options.Seed, Slots);
        var root = TempRoot("swarm");
        var dataDir = Path.Combine(root, "hive");
        var logDir = Path.Combine(root, "logs");
        Directory.CreateDirectory(logDir);
        // The host runs as root here: its agents run as users of their own and must reach the script and the logs.
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(logDir, (UnixFileMode)0b111_111_111);
        var (script, modelClient) = await SwarmAgent.WriteAsync(root);

        PrintHeader("Hive swarm under the harness, its model calls through the gateway", dataDir);
        var loadStart = LoadAverage();
        Console.WriteLine($"agents {settings.Agents}   minutes {Stats.F(settings.Minutes, 1)}   kills {settings.Kills}   seed {settings.Seed}   MaxConcurrentTurns {Slots}   " +
                          $"provider MaxInFlight {ProviderSlots}   model client {python}   host: dotnet {HostProcess.HostDll}");
        var secret = "sk-ant-swarm-" + Guid.NewGuid().ToString("N");
        await using var provider = await StreamingProvider.StartAsync(secret);
        // The floor of any gateway under the swarm's load: a bare forwarder in a process of its own, which the agents call on some turns.
        await using var forwarder = await GatewayBench.FloorProcess.StartAsync(Path.Combine(root, "forwarder.sock"), provider.Url);
        File.SetUnixFileMode(forwarder.Socket, (UnixFileMode)0b110_110_110);
        await forwarder.WarmAsync(provider.DirectKey);
        var run = new SwarmRun(dataDir, logDir, HostArgs(provider, options.Synchronous));
        using var stop = new CancellationTokenSource();
        Task? operatorLoop = null, sampler = null;
        try
        {
            await run.StartHostAsync();
            var http = run.Http!;
            (await http.PutAsJsonAsync("/api/secrets/anthropic", new { value = secret })).EnsureSuccessStatusCode();
            var created = Stopwatch.StartNew();
            for (var i = 0; i < settings.Agents; i++)
            {
                var name = $"a{i}";
                using var response = await http.PostAsJsonAsync("/api/agents", new
                {
                    name,
                    driver = "process",
                    provider = "anthropic",
                    command = new[] { "hivectl", "run", "--", "/bin/sh", script, logDir, name, settings.Seed.ToString(CultureInfo.InvariantCulture),
                        settings.Agents.ToString(CultureInfo.InvariantCulture), i.ToString(CultureInfo.InvariantCulture), python, modelClient, provider.Url, provider.DirectKey, forwarder.Socket },
                });
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"creating {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            Console.WriteLine($"{settings.Agents} agents created in {Stats.F(created.Elapsed.TotalSeconds, 1)} s");

            operatorLoop = Task.Run(() => SwarmOperator.RunAsync(run, settings.Agents, new Random(settings.Seed + 1), stop.Token));
            sampler = Task.Run(() => run.SampleEverySecondAsync(stop.Token));
            var measured = await RunWithKillsAsync(run, settings);
            var turnsInRun = SwarmAgent.CountStarts(logDir);

            var (drained, drainSeconds) = await DrainAsync(run);
            run.Sample();
            await stop.CancelAsync();
            await operatorLoop;
            await sampler;
            var walAtEnd = SwarmRun.FileSize(Path.Combine(dataDir, "hive.db-wal"));
            var dbAtEnd = SwarmRun.FileSize(Path.Combine(dataDir, "hive.db"));
            await run.Host!.TerminateAsync(TimeSpan.FromSeconds(60));
            run.Lives.Add(run.Current);

            var end = new SwarmEnd(measured.TotalSeconds, turnsInRun, drained, drainSeconds, dbAtEnd, walAtEnd);
            return await ReportAsync(SwarmReport.Analyse(run, settings, end, loadStart), SwarmModelCalls.Analyse(run, provider, ProviderSlots));
        }
        finally
        {
            await stop.CancelAsync();
            try { if (operatorLoop is not null) await operatorLoop; } catch (Exception e) { Console.WriteLine($"operator: {e.Message}"); }
            try { if (sampler is not null) await sampler; } catch (Exception e) { Console.WriteLine($"sampler: {e.Message}"); }
            await run.StopHostAsync();
            SqliteConnection.ClearAllPools();
            RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>The host's options: the fake provider as the <c>anthropic</c> upstream, the governor's slots and budgets high, no loop rule.</summary>
    private static string[] HostArgs(StreamingProvider provider, string synchronous) =>
    [
        "--Hive:Gateway:Providers:anthropic:Upstream", provider.Url,
        "--Hive:Gateway:Providers:anthropic:MaxInFlight", ProviderSlots.ToString(CultureInfo.InvariantCulture),
        "--Hive:Gateway:Providers:anthropic:Prices:claude-test:InputPerMtok", "3",
        "--Hive:Gateway:Providers:anthropic:Prices:claude-test:OutputPerMtok", "15",
        "--Hive:Governance:MaxConcurrentTurns", Slots.ToString(CultureInfo.InvariantCulture),
        "--Hive:Governance:Budgets:Hive:DailyUsd", "1000000",
        "--Hive:Governance:Budgets:Agent:DailyUsd", "100000",
        "--Hive:Governance:LoopTurns", "0",
        "--Hive:Database:Synchronous", synchronous,
    ];

    /// <summary>
    /// The measured part: <c>--minutes</c> of traffic with <c>--kills</c> SIGKILLs of the host at random moments (10–90 %
    /// of the way), each followed by its restart on the same data dir; a progress line every 30 s. Its length.
    /// </summary>
    private static async Task<TimeSpan> RunWithKillsAsync(SwarmRun run, SwarmSettings settings)
    {
        var random = new Random(settings.Seed);
        var duration = TimeSpan.FromMinutes(settings.Minutes);
        var killAt = Enumerable.Range(0, settings.Kills).Select(_ => duration * (0.1 + 0.8 * random.NextDouble())).Order().ToList();
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        foreach (var at in killAt.Append(duration))
        {
            while (clock.Elapsed < at)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(1, (at - clock.Elapsed).TotalMilliseconds))));
                if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(30))
                {
                    lastReport = clock.Elapsed;
                    Console.WriteLine($"  +{Stats.F(clock.Elapsed.TotalSeconds, 0)} s: turns started {SwarmAgent.CountStarts(run.LogDir)}   operator sent {run.OperatorSent.Count}, errors {run.OperatorErrors} ({run.LastOperatorError})   load {LoadAverage()}");
                }
            }
            if (at == duration) break;
            var killed = await run.KillHostAsync();
            Console.WriteLine($"  +{Stats.F(clock.Elapsed.TotalSeconds, 1)} s: host SIGKILLed");
            var restarted = Stopwatch.StartNew();
            await run.RestartHostAsync(killed);
            Console.WriteLine($"  host up again in {Stats.F(restarted.Elapsed.TotalSeconds, 1)} s");
        }
        return clock.Elapsed;
    }

    /// <summary>
    /// The drain: the agents stop replying (the file), the operator stops feeding mail but keeps answering, until the
    /// hive is idle 3 s in a row or <see cref="DrainLimit"/> passes.
    /// </summary>
    private static async Task<(bool Drained, double Seconds)> DrainAsync(SwarmRun run)
    {
        await File.WriteAllTextAsync(Path.Combine(run.LogDir, "drain"), "");
        run.Draining = true;
        var drain = Stopwatch.StartNew();
        var quiet = 0;
        while (quiet < 3)
        {
            if (drain.Elapsed > DrainLimit) break;
            await Task.Delay(1000);
            quiet = run.Idle() ? quiet + 1 : 0;
        }
        var drained = quiet >= 3;
        Console.WriteLine($"drain: {(drained ? "idle" : "NOT IDLE")} after {Stats.F(drain.Elapsed.TotalSeconds, 1)} s");
        return (drained, drain.Elapsed.TotalSeconds);
    }

    /// <summary>Writes <c>swarm-result.json</c> and <c>swarm-result.md</c> into the current directory and prints the summary, the goals and the verdict; the exit code.</summary>
    private static async Task<int> ReportAsync(JsonObject result, (JsonObject Result, bool Green) model)
    {
        result["model_calls"] = model.Result;
        result["peak_rss_goal_met"] = result["host"]!["peak_rss_mib"]!.GetValue<double>() < RssGoalMib;
        result["green"] = result["green"]!.GetValue<bool>() && model.Green;
        var json = result.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var markdown = SwarmReport.Markdown(result);
        await File.WriteAllTextAsync("swarm-result.json", json + "\n");
        await File.WriteAllTextAsync("swarm-result.md", markdown);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"written: {Path.GetFullPath("swarm-result.json")} and {Path.GetFullPath("swarm-result.md")}");
        var ok = result["green"]!.GetValue<bool>();
        Console.WriteLine($"GOAL host peak RSS < {RssGoalMib} MiB: {(result["peak_rss_goal_met"]!.GetValue<bool>() ? "met" : "MISSED")} ({result["host"]!["peak_rss_mib"]} MiB)");
        Console.WriteLine(SwarmModelCalls.GoalLine(model.Result));
        Console.WriteLine($"verdict: {(ok ? "green (0 lost, duplicates only as flagged redeliveries, drained; model calls metered = served, none twice, but those cut by a kill)" : "FAILED")}");
        return ok ? 0 : 1;
    }
}
