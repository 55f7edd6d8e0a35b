using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Hive.Tests.Bench;

/// <summary>
/// One run of the built benchmark (<c>bench/Hive.Bench</c>, built in the tests' configuration beside them through a
/// project reference not referenced as an assembly) as a child process: its exit code and everything it printed. Past
/// the deadline the bench's whole process tree (its hosts, their agents) is killed, the data dir it printed removed,
/// and the test fails with the output.
/// </summary>
public sealed partial record BenchRun(int ExitCode, string Output)
{
    /// <summary>The temp dirs the run said it used (<c>data dir: …</c>).</summary>
    public IEnumerable<string> DataDirs => DataDirLine().Matches(Output).Select(m => m.Groups[1].Value);

    public static string BenchDll() => HostProcess.BuiltInRepository(Path.Combine("bench", "Hive.Bench"), "Hive.Bench.dll")
        ?? throw new FileNotFoundException("bench/Hive.Bench is not built in the tests' configuration");

    /// <summary>Runs <c>dotnet Hive.Bench.dll ARGS</c> in <paramref name="workingDirectory"/> until it exits or <paramref name="deadline"/> passes.</summary>
    public static async Task<BenchRun> StartAsync(IEnumerable<string> args, string workingDirectory, TimeSpan deadline)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(BenchDll());
        foreach (var arg in args) info.ArgumentList.Add(arg);
        var output = new StringBuilder();
        using var bench = Process.Start(info)!;
        bench.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        bench.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        bench.BeginOutputReadLine();
        bench.BeginErrorReadLine();
        string Output() { lock (output) return output.ToString(); }

        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            await bench.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            bench.Kill(entireProcessTree: true); // the bench, its hosts and the hosts' agents
            await bench.WaitForExitAsync();
            var killed = new BenchRun(-1, Output());
            foreach (var dir in killed.DataDirs) await TestDirectories.DeleteAsync(dir);
            Assert.Fail($"`bench {string.Join(' ', args)}` did not end within {deadline.TotalMinutes:0.#} minutes:\n{killed.Output}");
        }
        bench.WaitForExit(); // drains the redirected output
        return new BenchRun(bench.ExitCode, Output());
    }

    [GeneratedRegex(@"^data dir: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex DataDirLine();
}
