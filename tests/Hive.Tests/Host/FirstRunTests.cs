using System.Diagnostics;
using System.Text;

namespace Hive.Tests.Host;

/// <summary>
/// The README's first run, as a newcomer types it: <c>dotnet run --project src/Host</c> from a directory of their own,
/// then <c>hivectl status</c> in the same directory. A child process of its own (the SDK's <c>dotnet run</c> and the host
/// under it), killed by its pid with its tree at the end.
/// </summary>
public sealed class FirstRunTests
{
    [Fact]
    public async Task Dotnet_run_keeps_the_data_in_dot_hive_of_the_directory_it_was_typed_in_and_says_what_auto_chose()
    {
        var repo = RepositoryRoot();
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var cwd = Directory.CreateTempSubdirectory("hive-first-run-").FullName;
        var url = $"http://127.0.0.1:{HostProcess.FreePort()}";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = cwd,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "run", "--project", Path.Combine(repo, "src", "Host"), "--no-build", "-c", configuration, "--", "--urls", url })
            start.ArgumentList.Add(arg);
        // What the test runner sets for its own MSBuild must not steer the child's.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k == "ASPNETCORE_URLS").ToList())
            start.Environment.Remove(name);
        var output = new StringBuilder();
        using var run = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        run.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        run.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        run.BeginOutputReadLine();
        run.BeginErrorReadLine();
        string Output() { lock (output) return output.ToString(); }
        try
        {
            var token = Path.Combine(cwd, ".hive", "operator-token");
            await HiveInstance.Until(() => run.HasExited || (File.Exists(token) && Output().Contains("Sign in to the dashboard")),
                TimeSpan.FromSeconds(90), "the host's first start");
            Assert.False(run.HasExited, Output());
            Assert.True(File.Exists(Path.Combine(cwd, ".hive", "hive.db")), Output());

            // hivectl in the same directory finds the token in ./.hive by itself.
            var status = await Cli.Hivectl.RunAsync(["status", "--url", url], workingDirectory: cwd);
            Assert.True(status.ExitCode == 0, status + "\nhost:\n" + Output());
            Assert.Contains("manager", status.Stdout);

            // The start-up log says, once, which driver "auto" is on this machine.
            await HiveInstance.Until(() => Output().Contains("the auto driver"), TimeSpan.FromSeconds(15), "the auto driver's line");
            Assert.Single(Output().Split('\n'), l => l.Contains("containers: the auto driver", StringComparison.Ordinal));
        }
        finally
        {
            if (!run.HasExited) run.Kill(entireProcessTree: true);
            await run.WaitForExitAsync();
            Directory.Delete(cwd, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hive.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("no Hive.sln above the tests");
    }
}
