using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hive.Tests.Architecture;

namespace Hive.Tests.Infrastructure;

/// <summary>The built <c>Hive.Host.dll</c> run as a real child process (<c>dotnet Hive.Host.dll ARGS</c>).</summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    private HostProcess(Process process, Uri baseAddress, string dataDir)
    {
        _process = process;
        BaseAddress = baseAddress;
        DataDir = dataDir;
    }

    public Uri BaseAddress { get; }
    public string DataDir { get; }
    public string Output { get { lock (_output) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static string HostDll
    {
        get
        {
            // The test binaries live in tests/Hive.Tests/bin/<Configuration>/net10.0/; the host's in src/Host/bin/<same>.
            var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
            var path = Path.Combine(FeatureGraphTests.RepoRoot(), "src", "Host", "bin", configuration, "net10.0", "Hive.Host.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("build the solution first", path);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<HostProcess> StartAsync(string dataDir, string[] agents, string workingDirectory = "/", int? port = null, params string[] extraArgs)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{port ?? FreePort()}");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HostDll);
        foreach (var arg in HiveInstance.ArgsFor(dataDir, agents, baseAddress.ToString().TrimEnd('/')).Concat(extraArgs)) start.ArgumentList.Add(arg);
        start.Environment.Remove("ASPNETCORE_URLS");

        var process = Process.Start(start)!;
        var host = new HostProcess(process, baseAddress, dataDir);
        process.OutputDataReceived += (_, e) => { lock (host._output) host._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (host._output) host._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await host.WaitUntilReadyAsync(agents);
        return host;
    }

    private async Task WaitUntilReadyAsync(string[] agents)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the host exited with {_process.ExitCode}:\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the host did not come up:\n{Output}");
            try
            {
                using var response = await http.GetAsync("/api/state");
                if (response.IsSuccessStatusCode && agents.All(a => File.Exists(Path.Combine(DataDir, "run", a + ".sock")))) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(50);
        }
    }

    public Task<AgentClient> ConnectAsync(string agent) => AgentClient.ConnectAsync(Path.Combine(DataDir, "run", agent + ".sock"));

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or power cut of the process.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: the graceful stop a service manager sends.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) await KillAsync();
        _process.Dispose();
    }
}
