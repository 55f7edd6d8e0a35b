using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Hive.Tests.Features.Containers;

namespace Hive.Tests.Host;

/// <summary>
/// The host as an operator deploys it (docs/operator/deploying.md): published with <c>dotnet publish src/Host</c> to a folder outside
/// the checkout and run from there, it gives a <c>claude-code</c> preset agent under bubblewrap the hivectl beside it, whose
/// <c>hivectl whoami</c> answers the agent's name. A host run from a build without that hivectl says so at start, in one line,
/// and refuses an agent whose command runs hivectl by saying the same, not that hivectl is missing from PATH.
/// </summary>
public sealed class DeployTests
{
    private const string MissingLine = "no hivectl beside the host";

    [Fact]
    public async Task A_host_without_hivectl_beside_it_says_so_at_start_in_one_line_and_refuses_an_agent_that_runs_hivectl_saying_why()
    {
        var root = Directory.CreateTempSubdirectory("hive-no-tools-").FullName;
        try
        {
            // The build output without its agent-tools/: what `dotnet build src/Host -o DIR` leaves.
            var install = Path.Combine(root, "host");
            await RunAsync("cp", ["-a", Path.GetDirectoryName(HostProcess.HostDll)!, install], TimeSpan.FromMinutes(2));
            Directory.Delete(Path.Combine(install, "agent-tools"), recursive: true);
            await using var host = await HostProcess.StartFromAsync(Path.Combine(install, "Hive.Host.dll"), Path.Combine(root, "data"), ["bob"]);

            // Said at start, before any agent is created: one line, naming what is missing and how to get it.
            await HiveInstance.Until(() => host.Output.Contains(MissingLine), TimeSpan.FromSeconds(60), "the start-up line about hivectl");
            var line = Assert.Single(host.Output.Split('\n'), l => l.Contains(MissingLine, StringComparison.Ordinal));
            Assert.Contains(Path.Combine(install, "agent-tools", "hivectl", "hivectl.dll"), line);
            Assert.Contains("dotnet publish src/Host", line);
            Assert.Contains("dotnet build Hive.sln", line);

            using var http = host.CreateClient();
            using var response = await http.PostAsJsonAsync("/api/agents", new { name = "alice", command = new[] { "hivectl", "whoami" }, driver = "process" });
            var problem = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {problem}");
            var detail = JsonDocument.Parse(problem).RootElement.GetProperty("detail").GetString()!;
            Assert.Contains(MissingLine, detail);
            Assert.DoesNotContain("not found on PATH", detail);
            Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/api/agents")).EnumerateArray().Count(a => a.GetProperty("name").GetString() == "alice"));
            // Still one line: the refused create did not say it again.
            Assert.Single(host.Output.Split('\n'), l => l.Contains(MissingLine, StringComparison.Ordinal));
        }
        finally
        {
            await TestDirectories.DeleteAsync(root);
        }
    }

    [ClaudeCodeFact]
    public async Task A_host_published_outside_the_checkout_runs_a_claude_code_agent_under_bubblewrap_whose_hivectl_whoami_answers()
    {
        var root = Directory.CreateTempSubdirectory("hive-published-").FullName;
        try
        {
            var published = Path.Combine(root, "hive");
            await RunAsync("dotnet", ["publish", Path.Combine(RepositoryRoot(), "src", "Host"), "-c", "Release", "-o", published, "--nologo",
                "--disable-build-servers"], // no MSBuild node or compiler server outlives the test
                TimeSpan.FromMinutes(30));
            var hivectl = Path.Combine(published, "agent-tools", "hivectl", "hivectl.dll");
            Assert.True(File.Exists(hivectl), $"the published host has no {hivectl}");

            await using var host = await HostProcess.StartFromAsync(Path.Combine(published, "Hive.Host.dll"), Path.Combine(root, "data"), [],
                "--Hive:Presets:ClaudeCode:Path", ClaudeCode.Path!);
            Assert.DoesNotContain(MissingLine, host.Output);
            using var http = host.CreateClient();
            using (var saved = await http.PutAsJsonAsync("/api/secrets/anthropic", new { value = "sk-ant-api03-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant() }))
                Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
            var row = await ContainersKit.CreateAsync(http, new { name = "alice", preset = "claude-code", driver = "bubblewrap" });
            Assert.Equal("running", row.State());
            Assert.Equal("bubblewrap", row.GetProperty("driver").GetString());

            // In the agent's sandbox, with its environment (a terminal is launched as the agent is): hivectl is the host's own, on its PATH.
            await using var terminal = await TerminalSocket.OpenAsync(host.BaseAddress, host.Token, "alice");
            await terminal.RunAsync("echo \"[$(command -v hivectl)]\"", "[/opt/hive/bin/hivectl]", TimeSpan.FromSeconds(60));
            await terminal.RunAsync("echo \"<$(hivectl whoami)>\"", "<alice>", TimeSpan.FromSeconds(60));
            Assert.Equal(await HashAsync(hivectl), await HashAsync(Path.Combine(host.DataDir, "tools", "lib", "hivectl.dll")));
        }
        finally
        {
            await TestDirectories.DeleteAsync(root);
        }
    }

    private static async Task<string> HashAsync(string file) => Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(file)));

    private static async Task RunAsync(string program, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // What the test runner sets for its own MSBuild must not steer the child's.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        var output = new StringBuilder();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await process.WaitForExitAsync(cts.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        lock (output) Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited with {process.ExitCode}:\n{output}");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hive.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("no Hive.sln above the tests");
    }
}
