namespace Hive.Cli.Commands.Agent.Port;

/// <summary>
/// <c>hivectl port … -- hivectl run …</c> (what the host runs for every agent behind a port) in one process: when COMMAND
/// is this very hivectl (its launcher, <c>bin/hivectl</c> beside this build's <c>lib/</c>) running <c>run</c>, the port
/// opens its listeners, puts their variables in its own environment (whence the harness's COMMAND inherits them) and runs
/// the harness itself instead of starting a second runtime for it: one .NET start an agent instead of two (about 65 ms
/// of CPU and tens of MiB each), which a host restarting fifty agents at once pays fifty times over. Signals are the
/// harness's to take, as they were when it was the child (the port's hold is for a COMMAND in another process); the exit
/// code is the harness's.
/// </summary>
internal static class PortInProcess
{
    private const string RunVerb = "run";
    private const int MinWorkers = 8;

    /// <summary>Whether <paramref name="argv"/> is this hivectl's <c>run</c>, named by its launcher's full path.</summary>
    public static bool Takes(string[] argv) =>
        argv.Length >= 2 && argv[1] == RunVerb && Path.IsPathFullyQualified(argv[0]) &&
        string.Equals(Path.GetFullPath(argv[0]), OwnLauncher, StringComparison.Ordinal);

    public static int Run(IReadOnlyList<PortForwarder.Forward> forwards, string[] argv)
    {
        using var listeners = PortForwarder.Listen(forwards, Environment.SetEnvironmentVariable);
        if (listeners is null) return CommandRunner.Failed;
        // The relay shares this pool with the harness, some of whose writes block a thread (a full pty, a full stdout
        // pipe); with one worker per core a model call's bytes would then wait for the pool to grow.
        ThreadPool.GetMinThreads(out var workers, out var completions);
        ThreadPool.SetMinThreads(Math.Max(workers, MinWorkers), completions);
        _ = PortWarmUp.RunAsync();
        return HiveCli.RunAsync(argv[1..]).GetAwaiter().GetResult();
    }

    /// <summary>The launcher the host writes beside this build (<c>tools/bin/hivectl</c> for <c>tools/lib/hivectl.dll</c>).</summary>
    private static string OwnLauncher => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "bin", "hivectl"));
}
