using Hive.Shared.Processes;

namespace Hive.Tests.Shared;

/// <summary>
/// The one runner of the host's short-lived children. Arguments reach the child verbatim (no shell), the
/// environment is the base plus what the caller gives (nothing of the host's), a timeout or a cancel kills the whole
/// tree (checked by pid), and each stream's capture is bounded while the child is still drained to its end.
/// </summary>
public sealed class ChildProcessTests
{
    private static readonly TimeSpan Gone = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Passes_each_argument_verbatim_with_no_shell_between()
    {
        string[] args = ["a b", "\"double\"", "'single'", "$HOME", "$(id)", "*", "; echo injected", "back\\slash", "", "tab\there", "ünïcode"];
        var result = await ChildProcess.RunAsync(new ChildCommand("/usr/bin/printf", ["%s\\n", .. args]));

        Assert.Equal(0, result.ExitCode);
        Assert.False(result.TimedOut);
        Assert.Equal(args, result.Stdout.Split('\n')[..^1]);
    }

    [Fact]
    public async Task The_environment_is_the_base_plus_what_was_given_and_nothing_of_the_hosts()
    {
        // The test process's own environment (PATH, HOME and whatever the runner was started with) is much larger.
        Assert.Contains(Environment.GetEnvironmentVariables().Keys.Cast<string>(), k => k is not ("PATH" or "LANG"));
        var result = await ChildProcess.RunAsync(new ChildCommand("/usr/bin/env", ["-0"])
        {
            Environment = new Dictionary<string, string> { ["HIVE_GIVEN"] = "a value with spaces = and equals", ["LANG"] = "C" },
        });

        var env = result.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries).Select(e => e.Split('=', 2)).ToDictionary(e => e[0], e => e[1]);
        Assert.Equal(["HIVE_GIVEN", "LANG", "PATH"], env.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("a value with spaces = and equals", env["HIVE_GIVEN"]);
        Assert.Equal("C", env["LANG"]); // a caller's value wins over the base's
        Assert.Equal(Environment.GetEnvironmentVariable("PATH"), env["PATH"]);

        var plain = await ChildProcess.RunAsync(new ChildCommand("/usr/bin/env", ["-0"]));
        Assert.Equal(new[] { "LANG=C.UTF-8", $"PATH={Environment.GetEnvironmentVariable("PATH")}" },
            plain.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_timeout_kills_the_child_and_its_children()
    {
        // The shell prints its own pid and its background child's, then waits for that child (which would sleep 10 minutes).
        var started = DateTime.UtcNow;
        var result = await ChildProcess.RunAsync(new ChildCommand("/bin/sh", ["-c", "echo $$; sleep 600 & echo $!; wait"])
        {
            Timeout = TimeSpan.FromSeconds(5), // long enough for a starved shell to print both
        });

        Assert.True(result.TimedOut);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(60), "the call returned long after its timeout");
        var pids = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        Assert.Equal(2, pids.Count); // what it printed before the kill is kept
        await ProcessTable.UntilGoneAsync(pids, Gone);
    }

    [Fact]
    public async Task The_call_ends_at_its_timeout_when_a_grandchild_keeps_the_output_open_after_its_parent_exited()
    {
        // The parent exits at once; its background child (reparented away, so no longer in the tree the runner can find)
        // holds stdout open: the call must still end at its timeout rather than wait for that pipe's end.
        var result = await ChildProcess.RunAsync(new ChildCommand("/bin/sh", ["-c", "sleep 600 & echo $!"]) { Timeout = TimeSpan.FromSeconds(5) });

        Assert.True(result.TimedOut);
        var pid = int.Parse(result.Stdout.Trim());
        if (ProcessTable.IsAlive(pid)) ProcessTable.Kill(pid); // the test's own leftover, stopped by its pid
        await ProcessTable.UntilGoneAsync([pid], Gone);
    }

    [Fact]
    public async Task Cancelling_kills_the_child_and_throws()
    {
        var dir = Directory.CreateTempSubdirectory("hive-child-").FullName;
        try
        {
            var pidFile = Path.Combine(dir, "pid");
            using var cancel = new CancellationTokenSource();
            var run = ChildProcess.RunAsync(new ChildCommand("/bin/sh", ["-c", $"echo $$ > {pidFile}.new && mv {pidFile}.new {pidFile}; exec sleep 600"])
            {
                Timeout = TimeSpan.FromMinutes(5),
            }, cancel.Token);
            await HiveInstance.Until(() => File.Exists(pidFile), Gone, "the child to start");
            var pid = int.Parse(File.ReadAllText(pidFile).Trim());
            Assert.True(ProcessTable.IsAlive(pid));

            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
            await ProcessTable.UntilGoneAsync([pid], Gone);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Keeps_at_most_the_capture_bound_of_each_stream_and_drains_the_rest()
    {
        // head exits 0 only if every byte was read from the pipe (a closed pipe would kill it with SIGPIPE).
        var result = await ChildProcess.RunAsync(new ChildCommand("/bin/sh", ["-c", "head -c 5000000 /dev/zero | tr '\\0' x; head -c 3000000 /dev/zero >&2; echo done >&2"])
        {
            CaptureBytes = 1000,
        });

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(new string('x', 1000), result.Stdout);
        Assert.Equal(1000, result.Stderr.Length);
        Assert.True(result.StdoutTruncated);
        Assert.True(result.StderrTruncated);

        var small = await ChildProcess.RunAsync(new ChildCommand("/bin/sh", ["-c", "printf 12345; printf abc >&2"]) { CaptureBytes = 5 });
        Assert.Equal(("12345", "abc", false, false), (small.Stdout, small.Stderr, small.StdoutTruncated, small.StderrTruncated));
    }

    [Fact]
    public async Task Stdin_is_what_was_given_or_empty_never_the_hosts()
    {
        var echoed = await ChildProcess.RunAsync(new ChildCommand("/bin/cat", []) { StandardInput = "line one\nline two\n" });
        Assert.Equal("line one\nline two\n", echoed.Stdout);

        var empty = await ChildProcess.RunAsync(new ChildCommand("/bin/cat", []) { Timeout = TimeSpan.FromSeconds(30) });
        Assert.False(empty.TimedOut);
        Assert.Equal("", empty.Stdout);
    }

    [Fact]
    public async Task Reports_the_exit_code_the_stderr_and_runs_in_the_given_directory()
    {
        var dir = Directory.CreateTempSubdirectory("hive-child-").FullName;
        try
        {
            var result = await ChildProcess.RunAsync(new ChildCommand("/bin/sh", ["-c", "pwd; echo oops >&2; exit 3"]) { WorkingDirectory = dir });
            Assert.Equal((3, dir + "\n", "oops\n", false), (result.ExitCode, result.Stdout, result.Stderr, result.TimedOut));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_program_that_cannot_start_is_a_ChildProcessException()
    {
        var e = await Assert.ThrowsAsync<ChildProcessException>(() => ChildProcess.RunAsync(new ChildCommand("/nonexistent/hive-no-such-program", [])));
        Assert.Contains("/nonexistent/hive-no-such-program", e.Message);
    }
}
