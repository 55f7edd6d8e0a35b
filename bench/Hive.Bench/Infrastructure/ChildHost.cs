using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// The built <c>Hive.Host.dll</c> as a real child process (<c>dotnet Hive.Host.dll ARGS</c>, from <c>/</c>), so it
/// can be killed with SIGKILL: no shutdown code runs, as in a crash or a power cut of the process. Its HTTP calls send
/// the operator token the host keeps in <c>&lt;DataDir&gt;/operator-token</c> as Bearer.
/// </summary>
public sealed class ChildHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ChildHost(Process process, Uri baseAddress, string dataDir)
    {
        _process = process;
        BaseAddress = baseAddress;
        DataDir = dataDir;
    }

    public Uri BaseAddress { get; }
    public string DataDir { get; }
    public int ProcessId => _process.Id;

    /// <summary>The operator token (null until the host has created its token file).</summary>
    public string? Token
    {
        get
        {
            var path = Path.Combine(DataDir, "operator-token");
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
    }

    /// <summary>An HTTP client of this host, signed in (Bearer) once the token exists.</summary>
    public HttpClient CreateClient(TimeSpan timeout)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = timeout };
        if (Token is { } token) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>
    /// The host beside this benchmark's own output (the project reference copies it there, built in the same
    /// configuration), else <c>src/Host/bin/&lt;configuration&gt;/net10.0/</c> of the repository above.
    /// </summary>
    public static string HostDll
    {
        get
        {
            var beside = Path.Combine(AppContext.BaseDirectory, "Hive.Host.dll");
            if (File.Exists(beside)) return beside;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (!File.Exists(Path.Combine(dir.FullName, "Hive.sln"))) continue;
                var built = Path.Combine(dir.FullName, "src", "Host", "bin", BenchEnvironment.BuildConfiguration, "net10.0", "Hive.Host.dll");
                if (File.Exists(built)) return built;
                break;
            }
            throw new FileNotFoundException("Hive.Host.dll not found beside the benchmark nor in src/Host/bin; build first", beside);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the host and returns once <c>/api/state</c> answers and every agent's socket accepts a connection.</summary>
    public static async Task<ChildHost> StartAsync(string dataDir, IReadOnlyList<string> agents, IEnumerable<string> extraArgs)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = "/",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HostDll);
        var args = new List<string>
        {
            "--urls", baseAddress.ToString().TrimEnd('/'),
            "--Hive:DataDir", dataDir,
            "--Logging:LogLevel:Default", "Warning",
            "--Logging:LogLevel:Microsoft.AspNetCore", "Warning",
        };
        for (var i = 0; i < agents.Count; i++) args.AddRange([$"--Hive:Agents:{i}", agents[i]]);
        args.AddRange(extraArgs);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("ASPNETCORE_URLS");

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var host = new ChildHost(process, baseAddress, dataDir);
        process.OutputDataReceived += (_, e) => { lock (host._output) host._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (host._output) host._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await host.WaitUntilReadyAsync(agents);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    private async Task WaitUntilReadyAsync(IReadOnlyList<string> agents)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var ready = false;
        while (!ready)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the host exited with {_process.ExitCode}:\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the host did not come up:\n{Output}");
            try
            {
                using var http = CreateClient(TimeSpan.FromSeconds(2)); // a 401 until the token file exists
                using var response = await http.GetAsync("/api/state");
                ready = response.IsSuccessStatusCode;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (!ready) await Task.Delay(50);
        }
        // A socket file may be a stale one from a killed life: only a connection proves this life listens.
        foreach (var agent in agents) await (await ConnectAsync(agent)).DisposeAsync();
    }

    public async Task<LineClient> ConnectAsync(string agent)
    {
        var path = Path.Combine(DataDir, "run", agent + ".sock");
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await LineClient.ConnectAsync(path);
            }
            catch (SocketException) when (attempt < 200 && !_process.HasExited)
            {
                await Task.Delay(25);
            }
        }
    }

    /// <summary>SIGKILL, then waits for the process to be gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM (the graceful stop a service manager sends), then waits.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) await KillAsync();
        _process.Dispose();
    }
}
