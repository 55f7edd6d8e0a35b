using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Hive.Tests.Architecture;

namespace Hive.Tests.Infrastructure;

/// <summary>
/// The built <c>Hive.Host.dll</c> run as a real child process (<c>dotnet Hive.Host.dll ARGS</c>). It signs in as a
/// person does: the token comes from the sign-in link the host prints on its standard output.
/// </summary>
public sealed partial class HostProcess : IAsyncDisposable
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
    public int ProcessId => _process.Id;
    public int ExitCode => _process.ExitCode;

    /// <summary>The sign-in link the host printed (null until it has, and when sign-in is off).</summary>
    public Uri? SignInUrl => SignInLink().Match(Output) is { Success: true } match ? new Uri(match.Value) : null;

    public string? Token => SignInUrl is { } url ? HiveInstance.TokenOf(url) : null;

    [GeneratedRegex(@"http://\S+/\?token=\S+")]
    private static partial Regex SignInLink();

    /// <summary>A client of this host, with the printed token as Bearer (when there is one).</summary>
    public HttpClient CreateClient()
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (Token is { } token) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

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

    /// <param name="umask">When set, the host runs under this umask (octal, e.g. "000"), as a service manager might start it.</param>
    /// <param name="fileLimit">When set, the host runs under <c>ulimit -n</c> this (soft and hard limit on descriptors).</param>
    public static async Task<HostProcess> StartAsync(string dataDir, string[] agents, string workingDirectory = "/", int? port = null,
        string? umask = null, int? fileLimit = null, params string[] extraArgs)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{port ?? FreePort()}");
        var host = Launch(HiveInstance.ArgsFor(dataDir, agents, baseAddress.ToString().TrimEnd('/')).Concat(extraArgs), workingDirectory, umask,
            process => new HostProcess(process, baseAddress, dataDir), fileLimit);
        await host.WaitUntilReadyAsync(agents);
        return host;
    }

    /// <summary>Runs the host with exactly these arguments until it exits on its own (a refused start).</summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(TimeSpan timeout, params string[] args)
    {
        await using var host = Launch(args, "/", umask: null, process => new HostProcess(process, new Uri("http://127.0.0.1:1"), ""));
        using var cts = new CancellationTokenSource(timeout);
        await host._process.WaitForExitAsync(cts.Token);
        host._process.WaitForExit(); // drains the redirected output
        return (host._process.ExitCode, host.Output);
    }

    private static HostProcess Launch(IEnumerable<string> args, string workingDirectory, string? umask, Func<Process, HostProcess> create,
        int? fileLimit = null)
    {
        var prelude = (umask is null ? "" : $"umask {umask} && ") + (fileLimit is null ? "" : $"ulimit -n {fileLimit} && ");
        var start = new ProcessStartInfo(prelude.Length == 0 ? "dotnet" : "/bin/sh")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (prelude.Length > 0)
            foreach (var arg in (string[])["-c", $"{prelude}exec dotnet \"$@\"", "sh"]) start.ArgumentList.Add(arg);
        start.ArgumentList.Add(HostDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("ASPNETCORE_URLS");

        var process = Process.Start(start)!;
        var host = create(process);
        process.OutputDataReceived += (_, e) => { lock (host._output) host._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (host._output) host._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    private async Task WaitUntilReadyAsync(string[] agents)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the host exited with {_process.ExitCode}:\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the host did not come up:\n{Output}");
            try
            {
                // Until the sign-in link is printed this is a 401, unless sign-in is off.
                using var http = CreateClient();
                http.Timeout = TimeSpan.FromSeconds(2);
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
