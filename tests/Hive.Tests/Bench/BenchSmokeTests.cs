using System.Text.RegularExpressions;
using Hive.Tests.Infrastructure;

namespace Hive.Tests.Bench;

/// <summary>
/// Every mode of the benchmark run briefly (its smallest arguments) as a child process (<see cref="BenchRun"/>), so a
/// change that breaks one is caught: it exits 0, prints the line its result ends with, throws nothing unhandled and
/// leaves no temp dir. Nothing is timed: no figure or elapsed time is asserted (a mode's missed goal is a verdict line,
/// not its exit code); the deadline only ends a hung run. <c>swarm</c> has its own smoke test
/// (<see cref="SwarmSmokeTests"/>). Those that need what a machine may lack (Claude Code, a test network) are facts that
/// skip saying why. Left out, as no argument makes it brief: <c>constellation</c> (a RabbitMQ node and three hives
/// to start, over a minute at its smallest; its paths are the Constellation tests').
/// </summary>
public sealed class BenchSmokeTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);

    private readonly string _dir = Directory.CreateTempSubdirectory("hive-bench-smoke-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => TestDirectories.DeleteAsync(_dir);

    /// <summary>Mode, its smallest arguments, and the line (a regex, multiline) that says it ran to its end.</summary>
    public static TheoryData<string, string, string> Modes => new()
    {
        // 100 subscribers from one client: through the per-client stream cap, as the bench's host is configured.
        { "broker", "--count 20 --seconds 0.2 --rounds 1 --subscribers 100", @"^\(d100\) send->SSE, 100 subscribers:$" },
        { "scan", "--reps 5", "^refs checks: all as expected$" },
        { "reminders", "--reminders 100 --rounds 1 --seconds 0.2", "^check     every round: " },
        { "crash-soak", "--kills 2 --reminders 20", "^verdict +every reminder delivered exactly once, database intact$" },
        { "replay", "--subscribers 100", @"^\(a\) host peak RSS during the herd: \d+ MiB" },
        { "backlog", "--count 20", "^GOAL send p99 under cold loads < 20 ms: (met|MISSED)" },
        { "retention", "--count 20", "^GOAL send p99 during the sweep < 20 ms: (met|MISSED)" },
        { "wake", "--messages 20", @"^send → COMMAND started: .*\(n=20\)$" },
        { "lockout", "--reps 5", "^operator requests failed: " },
        { "governance", "--rounds 1 --agents 10", "^halt with 10 running turns: COMMANDs ended 10/10" },
        { "watchdog", "--rounds 1", "^all rounds, threshold " },
        { "usage", "--agents 2 --seconds 5", @"^agents in cgroups: \d+ of 2 " },
        { "notify", "--questions 2", "^webhook burst 50 .* 50/50 questions" },
        { "transcript", "--messages 50", @"^printed by COMMAND → on the agent's stream: .*\(n=50\)$" },
        { "work", "--reps 5", @"^tickets left in the backlog at the end: \d+" },
        { "webhook-memory", "--idle 1", "^after 1 s idle +VmRSS " },
        { "gateway", "--count 10 --reps 2", "^host CPU per call through the door: " },
        { "turn-replay", "--count 2 --rounds 1", @"^ +1 .* identical \(2/2\)$" },
        { "radar", "--rounds 1", "^goal: a pass well under a second; " },
        { "queue", "--rounds 1", @"^one by one \(4x1\): \d+ ms" },
        { "acp", "--reps 3 --rounds 1", "^per session update, end to end: " },
        { "hivectl", "--reps 3", @"^ratio ReadyToRun / JIT, CPU per start: \d" },
        { "search", "--messages 2000", @"^GOAL one-word query p99 < 50 ms: (met|MISSED)" },
        // The sample agent under the JIT, as the tests run it: its ahead-of-time publish alone takes most of a minute.
        { "containers", "--creates 1 --answers 1 --crashes 1 --agents 2 --jit-agent", "^agent processes left after everything: 0 found" },
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_mode_runs_to_its_end(string mode, string args, string endLine) => await RunAsync(mode, args, endLine);

    [TestNetworkFact]
    public async Task Egress_runs_to_its_end() =>
        await RunAsync("egress", "--count 100 --rounds 1", "^connections through the port \\+ door: ");

    [ClaudeCodeFact]
    public async Task Claude_turns_run_to_their_end() =>
        await RunAsync("claude-turns", "--turns 1 --load 0", @"^invariant \(.*\): held$");

    private async Task RunAsync(string mode, string args, string endLine)
    {
        var run = await BenchRun.StartAsync([mode, .. args.Split(' ', StringSplitOptions.RemoveEmptyEntries)], _dir, Deadline);
        Assert.True(run.ExitCode == 0, $"`bench {mode} {args}` exited {run.ExitCode}:\n{run.Output}");
        Assert.DoesNotContain("Unhandled exception", run.Output, StringComparison.Ordinal);
        Assert.Matches(new Regex(endLine, RegexOptions.Multiline), run.Output);
        Assert.All(run.DataDirs, dir => Assert.False(Directory.Exists(dir), $"`bench {mode}` left its temp dir {dir}"));
    }
}
