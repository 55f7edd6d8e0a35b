using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Hive.Tests.Bench;

/// <summary>
/// The swarm bench's smoke test: the built benchmark's <c>swarm</c> mode, short (<c>--minutes 1 --agents 10 --kills 1</c>),
/// as a child process (the bench is built beside the tests through a project reference not referenced as an assembly).
/// Its verdict is the assertion: no message lost, duplicates only as flagged redeliveries, turns ran. No timing is asserted;
/// the deadline is generous for a loaded two-core machine, and the bench's whole process tree is killed if it passes.
/// </summary>
public sealed partial class SwarmSmokeTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-swarm-smoke-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => TestDirectories.DeleteAsync(_dir);

    private static string BenchDll()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Hive.sln"))) continue;
            var built = Path.Combine(dir.FullName, "bench", "Hive.Bench", "bin", configuration, "net10.0", "Hive.Bench.dll");
            if (File.Exists(built)) return built;
            break;
        }
        throw new FileNotFoundException("bench/Hive.Bench is not built in the tests' configuration");
    }

    [GeneratedRegex(@"^data dir: (\S+)/hive$", RegexOptions.Multiline)]
    private static partial Regex DataDirLine();

    [Fact]
    public async Task A_short_swarm_with_a_host_kill_loses_nothing_and_duplicates_only_flagged_redeliveries()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = _dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { BenchDll(), "swarm", "--minutes", "1", "--agents", "10", "--kills", "1" }) info.ArgumentList.Add(arg);
        var output = new StringBuilder();
        using var bench = Process.Start(info)!;
        bench.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        bench.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        bench.BeginOutputReadLine();
        bench.BeginErrorReadLine();
        string Output() { lock (output) return output.ToString(); }

        // A minute of traffic, the host's restart, a drain of at most 3 minutes and the start-up: well within 12 minutes.
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(12));
        try
        {
            await bench.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            bench.Kill(entireProcessTree: true); // the bench, its host and the host's agents
            await bench.WaitForExitAsync();
            if (DataDirLine().Match(Output()) is { Success: true } m) await TestDirectories.DeleteAsync(m.Groups[1].Value);
            Assert.Fail($"the swarm bench did not end within 12 minutes:\n{Output()}");
        }
        bench.WaitForExit(); // drains the redirected output

        var resultFile = Path.Combine(_dir, "swarm-result.json");
        Assert.True(File.Exists(resultFile), $"exit {bench.ExitCode}, no swarm-result.json:\n{Output()}");
        var result = JsonDocument.Parse(await File.ReadAllTextAsync(resultFile)).RootElement;
        var messages = result.GetProperty("messages");
        Assert.True(messages.GetProperty("sent").GetInt32() > 0, Output());
        Assert.True(messages.GetProperty("lost").GetInt32() == 0, Output());
        Assert.True(messages.GetProperty("duplicated_unflagged").GetInt32() == 0, Output());
        Assert.True(messages.GetProperty("committed_twice").GetInt32() == 0, Output());
        Assert.True(result.GetProperty("turns").GetProperty("started_total").GetInt32() > 0, Output());
        Assert.True(result.GetProperty("drained").GetBoolean(), Output());
        Assert.True(bench.ExitCode == 0, Output());
        if (DataDirLine().Match(Output()) is { Success: true } dataDir) Assert.False(Directory.Exists(dataDir.Groups[1].Value), "the bench left its temp dir");
    }
}
