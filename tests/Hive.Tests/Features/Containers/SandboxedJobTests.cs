using System.Diagnostics;
using System.Text;
using Hive.Features.Containers;
using Hive.Features.Containers.Jobs;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// A job of the hive (<see cref="RunSandboxedJob"/>): real bubblewrap sandboxes started by the hive's own handler. The
/// job's tree reaches <c>/work</c> and nothing else of the host does (the probes the agents' sandbox passes, plus the
/// work layer's dirs and the network); its exit, its time limit and its log are what the caller is told. The suite runs
/// as root (as CI does), so the job runs as <see cref="ContainersOptions.JobUid"/>.
/// </summary>
public sealed class SandboxedJobTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>, IAsyncLifetime
{
    private readonly HiveInstance _hive = fixture.Hive;
    private DirectoryInfo _temp = null!;
    private int _trees;

    public Task InitializeAsync()
    {
        _temp = Directory.CreateTempSubdirectory("hive-job-");
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _temp.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_check_that_exits_0_passes_and_ran_in_work_with_its_tree_and_a_clean_environment()
    {
        var tar = await TreeAsync(("check.sh", """
            echo 'check: starting'
            echo "pwd:$(pwd)"
            find . -type f | sort | sed 's/^/file:/'
            env | sed 's/^/env:/'
            echo 'check: all good'
            """), ("src/lib.txt", "a library"));

        var result = await RunAsync("check-pass", tar, ["sh", "check.sh"]);

        Assert.True(result.Passed, result.Tail);
        Assert.Equal(0, result.ExitCode);
        Assert.Null(result.Signal);
        Assert.False(result.TimedOut);
        Assert.Equal(Path.Combine(LogDir("check-pass"), "output.log"), result.LogPath);
        var log = await File.ReadAllTextAsync(result.LogPath);
        foreach (var line in new[] { "check: starting", "pwd:/work", "file:./check.sh", "file:./src/lib.txt", "check: all good" })
        {
            Assert.Contains(line + "\n", result.Tail);
            Assert.Contains(line + "\n", log);
        }
        var environment = log.Split('\n').Where(l => l.StartsWith("env:", StringComparison.Ordinal)).Select(l => l["env:".Length..]).ToList();
        Assert.Contains("HOME=/tmp", environment);
        Assert.Contains("PATH=/usr/local/bin:/usr/bin:/bin", environment);
        Assert.Contains("LANG=C.UTF-8", environment);
        // Besides those, only what the shell sets itself.
        Assert.All(environment.Select(e => e.Split('=')[0]), key => Assert.Contains(key, new[] { "HOME", "PATH", "LANG", "PWD", "OLDPWD", "SHLVL", "_" }));
    }

    [Fact]
    public async Task A_check_that_exits_3_fails_with_code_3_and_its_tail_is_the_last_lines_within_4_KiB()
    {
        var padding = new string('x', 150);
        var tar = await TreeAsync(("check.sh", $$"""
            i=1
            while [ $i -le 100 ]; do echo "line $i {{padding}}"; i=$((i + 1)); done
            echo 'check: failing now'
            exit 3
            """));

        var result = await RunAsync("check-fail", tar, ["sh", "check.sh"]);

        Assert.False(result.Passed);
        Assert.Equal(3, result.ExitCode);
        Assert.Null(result.Signal);
        Assert.False(result.TimedOut);
        Assert.InRange(Encoding.UTF8.GetByteCount(result.Tail), 1, 4096);
        var tailLines = result.Tail.TrimEnd('\n').Split('\n');
        Assert.InRange(tailLines.Length, 1, 40);
        Assert.All(tailLines, l => Assert.True(l.StartsWith("line ", StringComparison.Ordinal) || l.StartsWith("check:", StringComparison.Ordinal)
            || l.StartsWith("[hive]", StringComparison.Ordinal), $"not a whole line: {l}"));
        Assert.Contains($"line 100 {padding}\ncheck: failing now\n", result.Tail);
        Assert.EndsWith("[hive] exited with code 3\n", result.Tail);
        var log = await File.ReadAllTextAsync(result.LogPath);
        Assert.Contains($"line 1 {padding}\n", log);
        Assert.Contains($"line 100 {padding}\n", log);
    }

    [Fact]
    public async Task The_tail_of_many_short_lines_is_the_last_40()
    {
        var tar = await TreeAsync(("check.sh", """
            i=1
            while [ $i -le 100 ]; do echo "short $i"; i=$((i + 1)); done
            """));

        var result = await RunAsync("check-short", tar, ["sh", "check.sh"]);

        Assert.True(result.Passed, result.Tail);
        var tailLines = result.Tail.TrimEnd('\n').Split('\n');
        Assert.Equal(40, tailLines.Length);
        Assert.Equal("short 62", tailLines[0]);
        Assert.Equal(["short 100", "[hive] exited with code 0"], tailLines[^2..]);
    }

    [Fact]
    public async Task A_tree_that_does_not_unpack_is_a_failed_check_with_tars_error_in_the_log()
    {
        var notATar = Path.Combine(_temp.FullName, "not-a.tar");
        await File.WriteAllTextAsync(notATar, "this is not a tar archive, not even close\n");

        var result = await RunAsync("check-untarred", notATar, ["true"]);

        Assert.False(result.Passed);
        Assert.NotEqual(0, result.ExitCode);
        var log = await File.ReadAllTextAsync(result.LogPath);
        Assert.Contains("tar: ", log);
        Assert.Contains("the job's tree did not unpack", log);
    }

    [Fact]
    public async Task A_check_reaches_nothing_of_the_hive_no_network_and_runs_as_the_jobs_own_uid()
    {
        const string name = "check-probes";
        var other = await _hive.NewAgentAsync("neighbour");
        // Another agent's worktree and a clone of the work layer, where Work keeps them.
        var otherWork = Path.Combine(_hive.DataDir, "agents", other, "work");
        Directory.CreateDirectory(otherWork);
        await File.WriteAllTextAsync(Path.Combine(otherWork, "secret.txt"), "another agent's work");
        var repo = Path.Combine(_hive.DataDir, "work", "repos", $"probe-{Guid.NewGuid():N}.git");
        Directory.CreateDirectory(repo);
        await File.WriteAllTextAsync(Path.Combine(repo, "secret.txt"), "a repository of the hive");
        var ownProbes = new (string Key, string Command)[]
        {
            ("other-work", $"cat '{otherWork}/secret.txt'"),
            ("work-repos", $"cat '{repo}/secret.txt'"),
            ("data-dir", $"ls '{_hive.DataDir}'"),
            ("network", $"perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => \"127.0.0.1:{_hive.BaseAddress.Port}\", Timeout => 5) ? 0 : 1)'"),
        };
        // Run by the host itself they reach what they name, so a leak would show.
        foreach (var (key, command) in ownProbes) Assert.True(await ShellAsync(command) == 0, $"{key} does not reach from the host: {command}");
        var probes = IsolationProbes.Probes(_hive.DataDir, other, Environment.ProcessId, withHostSearches: true).Concat(ownProbes).ToArray();
        // Then it waits, so the test sees who its processes are, until the test ends the wait.
        var token = $"hive-job-probes-{Guid.NewGuid():N}";
        var script = IsolationProbes.Script(probes, outputFile: null, "echo \"hostname:$(cat /proc/sys/kernel/hostname)\"\n")
            + $"perl -e 'sleep 600' {token}\necho woke\n";
        var tar = await TreeAsync(("probes.sh", script));
        var expectedUid = Environment.IsPrivilegedProcess
            ? (uint)_hive.Service<IOptions<ContainersOptions>>().Value.JobUidOrDefault
            : ProcessTable.RealUid(Environment.ProcessId)!.Value;

        var job = RunAsync(name, tar, ["sh", "probes.sh", token], TimeSpan.FromMinutes(2));
        try
        {
            await HiveInstance.Until(() => job.IsCompleted || Sleepers(token).Count > 0, TimeSpan.FromSeconds(60), "the probes to finish");
            Assert.False(job.IsCompleted, job.IsCompleted ? (await job).Tail : "");
            var processes = ProcessTable.WithArgument(token);
            // bwrap (its argv names the token), the shell (the sandbox's pid 1), the sleeper.
            Assert.Contains(processes, p => ProcessTable.CommandLine(p).StartsWith("/usr/bin/bwrap ", StringComparison.Ordinal));
            Assert.Contains(processes, p => ProcessTable.CommandLine(p).StartsWith("sh probes.sh ", StringComparison.Ordinal));
            Assert.All(processes, p => Assert.Equal(expectedUid, ProcessTable.RealUid(p)));
            Assert.NotEqual(0u, expectedUid);
        }
        finally
        {
            // The sleeper killed, the script goes on and ends the job.
            await HiveInstance.Until(() =>
            {
                foreach (var sleeper in Sleepers(token)) ProcessTable.Kill(sleeper);
                return job.IsCompleted;
            }, TimeSpan.FromSeconds(60), "the job to end once its sleeper is killed");
        }
        var result = await job;

        Assert.True(result.Passed, result.Tail);
        var log = await File.ReadAllLinesAsync(result.LogPath);
        var lines = IsolationProbes.Parse(log.Where(l => !l.StartsWith("[hive]", StringComparison.Ordinal)));
        Assert.All(probes, p => Assert.True(lines[p.Key] == "denied", $"{p.Key}: {lines[p.Key]}"));
        Assert.InRange(int.Parse(lines["pids"]), 1, 6); // its own pid namespace: the shell (its pid 1), ls, grep
        Assert.Equal("0000000000000000", lines["cap-eff"]);
        Assert.Equal("2", lines["seccomp"]); // SECCOMP_MODE_FILTER
        Assert.Equal("ro", lines["proc-sys"]);
        Assert.Equal(name, lines["hostname"]);
        Assert.Contains("woke", log);
        Assert.False(File.Exists("/usr/hive-was-here-"));
        Directory.Delete(repo, recursive: true);
    }

    [Fact]
    public async Task A_check_past_its_time_limit_is_killed_whole_and_reported_as_timed_out()
    {
        var token = $"hive-job-timeout-{Guid.NewGuid():N}";
        var tar = await TreeAsync(("README", "nothing to see"));
        // A child in the background and one in the foreground, both with the token in their argv.
        var job = RunAsync("check-slow", tar, ["/bin/sh", "-c", "perl -e 'sleep 600' \"$0\" & perl -e 'sleep 600' \"$0\"; wait", token], TimeSpan.FromSeconds(10));
        await HiveInstance.Until(() => job.IsCompleted || Sleepers(token).Count == 2, TimeSpan.FromSeconds(60), "the job's two sleepers");
        var seen = ProcessTable.WithArgument(token);

        var result = await job;

        Assert.True(result.TimedOut);
        Assert.Null(result.ExitCode);
        Assert.False(result.Passed);
        Assert.True(seen.Count >= 3, $"the job's processes were not seen running: {seen.Count}"); // bwrap, the shell, the sleepers
        Assert.Empty(ProcessTable.WithArgument(token));
        // Gone when the handler returns, not a moment later: the sandbox's pid 1 too (it has no argv once exiting).
        Assert.All(seen, p => Assert.False(ProcessTable.IsAlive(p), $"{p} outlived the job"));
        Assert.Contains("[hive] killed at its time limit", await File.ReadAllTextAsync(result.LogPath));
    }

    [Fact]
    public async Task A_cancelled_check_is_killed_whole()
    {
        var token = $"hive-job-cancel-{Guid.NewGuid():N}";
        var tar = await TreeAsync(("README", "nothing to see"));
        using var cancel = new CancellationTokenSource();
        await using var scope = _hive.Services.CreateAsyncScope();
        var job = scope.ServiceProvider.GetRequiredService<IMediator>().Send(
            new RunSandboxedJob.Command("check-cancel", ["perl", "-e", "sleep 600", token], tar, LogDir("check-cancel"), TimeSpan.FromMinutes(10)), cancel.Token);
        await HiveInstance.Until(() => job.IsCompleted || Sleepers(token).Count == 1, TimeSpan.FromSeconds(60), "the job's sleeper");
        var seen = ProcessTable.WithArgument(token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job);
        Assert.NotEmpty(seen);
        Assert.Empty(ProcessTable.WithArgument(token));
        Assert.All(seen, p => Assert.False(ProcessTable.IsAlive(p), $"{p} outlived the job"));
    }

    [Fact]
    public async Task Bad_input_is_refused_before_anything_runs()
    {
        var tar = await TreeAsync(("README", "nothing to see"));
        var missing = Path.Combine(_temp.FullName, "missing.tar");
        var good = new RunSandboxedJob.Command("check-bad", ["true"], tar, LogDir("check-bad"), TimeSpan.FromMinutes(1));

        var empty = await Assert.ThrowsAsync<BadRequestException>(() => _hive.SendAsync(good with { Argv = [] }));
        var badName = await Assert.ThrowsAsync<BadRequestException>(() => _hive.SendAsync(good with { Name = "../Check" }));
        var noTree = await Assert.ThrowsAsync<BadRequestException>(() => _hive.SendAsync(good with { TreeArchive = missing }));
        var noTime = await Assert.ThrowsAsync<BadRequestException>(() => _hive.SendAsync(good with { Timeout = TimeSpan.Zero }));

        Assert.Contains("command is empty", empty.Message);
        Assert.Contains("name", badName.Message);
        Assert.Contains(missing, noTree.Message);
        Assert.Contains("time limit", noTime.Message);
        Assert.False(Directory.Exists(LogDir("check-bad")));
    }

    private string LogDir(string name) => Path.Combine(_temp.FullName, "logs", name);

    private Task<RunSandboxedJob.Result> RunAsync(string name, string tar, IReadOnlyList<string> argv, TimeSpan? timeout = null) =>
        _hive.SendAsync(new RunSandboxedJob.Command(name, argv, tar, LogDir(name), timeout ?? TimeSpan.FromMinutes(2)));

    /// <summary>A tar of these files, made by tar itself, as the caller of a job makes one.</summary>
    private async Task<string> TreeAsync(params (string Path, string Content)[] files)
    {
        var dir = Path.Combine(_temp.FullName, $"tree-{++_trees}");
        foreach (var (path, content) in files)
        {
            var file = Path.Combine(dir, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllTextAsync(file, content.ReplaceLineEndings("\n") + "\n");
        }
        var tar = dir + ".tar";
        Assert.Equal(0, await RunProgramAsync("/usr/bin/tar", "-c", "-f", tar, "-C", dir, "."));
        return tar;
    }

    private static Task<int> ShellAsync(string command) => RunProgramAsync("/bin/sh", "-c", command);

    private static async Task<int> RunProgramAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var drained = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        await process.WaitForExitAsync();
        await drained;
        return process.ExitCode;
    }

    /// <summary>The job's perl processes that carry <paramref name="token"/>.</summary>
    private static List<int> Sleepers(string token) =>
        ProcessTable.WithArgument(token).Where(p => ProcessTable.CommandLine(p).StartsWith("perl ", StringComparison.Ordinal)).ToList();
}
