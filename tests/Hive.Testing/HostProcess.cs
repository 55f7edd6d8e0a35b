using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Hive.Testing;

/// <summary>
/// The built <c>Hive.Host.dll</c> run as a real child process (<c>dotnet Hive.Host.dll ARGS</c>, from <c>/</c> unless
/// told otherwise), so it can be killed with SIGKILL: no shutdown code runs, as in a crash or a power cut of the
/// process. It signs in as a person does: its standard output is no terminal, so the host prints where the sign-in link
/// is (<c>&lt;DataDir&gt;/sign-in-link</c>, 0600) and the token comes from there.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _errors = new();

    private HostProcess(Process process, Uri baseAddress, string dataDir)
    {
        _process = process;
        BaseAddress = baseAddress;
        DataDir = dataDir;
    }

    public Uri BaseAddress { get; }
    public string DataDir { get; }
    public int ProcessId => _process.Id;
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Its stderr alone (where the host's one-line refusals go), in order: the two pipes interleave in <see cref="Output"/>.</summary>
    public string ErrorOutput { get { lock (_output) return _errors.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The sign-in link the host wrote (null until it has, and when sign-in is off; a previous life's before this one's).</summary>
    public Uri? SignInUrl => HiveInstance.ReadSignInLink(DataDir);

    public string? Token => SignInUrl is { } url ? HiveInstance.TokenOf(url) : null;

    /// <summary>A client of this host, with the printed token as Bearer (when there is one).</summary>
    public HttpClient CreateClient(TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        if (Token is { } token) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>
    /// The host built in the same configuration as the running program: <c>src/Host/bin/&lt;Configuration&gt;/net10.0/</c>
    /// of the repository above it (the running program lives in <c>&lt;project&gt;/bin/&lt;Configuration&gt;/net10.0/</c>),
    /// else the copy a project reference put beside the running program.
    /// </summary>
    public static string HostDll
    {
        get
        {
            if (BuiltInRepository(Path.Combine("src", "Host"), "Hive.Host.dll") is { } built) return built;
            var beside = Path.Combine(AppContext.BaseDirectory, "Hive.Host.dll");
            return File.Exists(beside) ? beside : throw new FileNotFoundException("Hive.Host.dll not found in src/Host/bin nor beside this program: build the solution first", beside);
        }
    }

    /// <summary>
    /// <paramref name="dll"/> as built in the running program's configuration under <paramref name="project"/> (a folder of
    /// the repository above the running program, found by its <c>Hive.sln</c>); null when it is not built there.
    /// </summary>
    public static string? BuiltInRepository(string project, string dll)
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Hive.sln"))) continue;
            var built = Path.Combine(dir.FullName, project, "bin", configuration, "net10.0", dll);
            return File.Exists(built) ? built : null;
        }
        return null;
    }

    // Below Linux's ephemeral range (32768-60999): a port the kernel handed out would be free again once the probe
    // closes, and any outgoing connection of a test running beside this one may take it as its local port before
    // the host binds it (seen: "address already in use" on a restart). Ports here are never picked that way; taken
    // in turn from a random start so tests in this process never pick the same one, and probed so that another
    // program's listener is skipped.
    private const int FirstPort = 20000, LastPort = 32767;
    private static int _nextPort = Random.Shared.Next(FirstPort, LastPort + 1);

    public static int FreePort()
    {
        for (var tries = 0; tries <= LastPort - FirstPort; tries++)
        {
            var port = FirstPort + (Interlocked.Increment(ref _nextPort) - FirstPort) % (LastPort - FirstPort + 1);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException) { }
        }
        throw new InvalidOperationException($"no free port between {FirstPort} and {LastPort}");
    }

    /// <summary>
    /// Starts the host and returns once <c>/api/state</c> answers with the printed token and every agent's socket
    /// accepts a connection (a socket file may be a stale one from a killed life: only a connection proves this life listens).
    /// </summary>
    /// <param name="umask">When set, the host runs under this umask (octal, e.g. "000"), as a service manager might start it.</param>
    /// <param name="fileLimit">When set, the host runs under <c>ulimit -n</c> this (soft and hard limit on descriptors).</param>
    /// <param name="softFileLimit">When set too, the soft limit is then lowered to this (<c>ulimit -Sn</c>).</param>
    /// <param name="environment">Variables set in the host's environment (beside the test process's own, which it inherits).</param>
    public static async Task<HostProcess> StartAsync(string dataDir, string[] agents, string workingDirectory = "/", int? port = null,
        string? umask = null, int? fileLimit = null, int? softFileLimit = null, IReadOnlyDictionary<string, string>? environment = null,
        params string[] extraArgs)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{port ?? FreePort()}");
        var host = Launch(HiveInstance.ArgsFor(dataDir, agents, baseAddress.ToString().TrimEnd('/')).Concat(extraArgs), workingDirectory, umask,
            process => new HostProcess(process, baseAddress, dataDir), fileLimit, softFileLimit, environment);
        return await ReadyAsync(host, agents);
    }

    /// <summary>
    /// <see cref="StartAsync"/> for a host built or published elsewhere: <c>dotnet <paramref name="hostDll"/></c> (a copy of
    /// the build without its agent tools, a published folder), from <c>/</c>.
    /// </summary>
    public static async Task<HostProcess> StartFromAsync(string hostDll, string dataDir, string[] agents, params string[] extraArgs)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        var host = Launch(HiveInstance.ArgsFor(dataDir, agents, baseAddress.ToString().TrimEnd('/')).Concat(extraArgs), "/", null,
            process => new HostProcess(process, baseAddress, dataDir), hostDll: hostDll);
        return await ReadyAsync(host, agents);
    }

    /// <summary>Waits until a started host answers with its agents; one that never does is stopped.</summary>
    private static async Task<HostProcess> ReadyAsync(HostProcess host, string[] agents)
    {
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

    /// <summary>
    /// Starts the host without waiting for it to answer: for a test that watches the database while the host starts up
    /// (to kill it during its first work, say). Its agents' sockets may not exist yet.
    /// </summary>
    public static HostProcess Launch(string dataDir, string[] agents, params string[] extraArgs)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        return Launch(HiveInstance.ArgsFor(dataDir, agents, baseAddress.ToString().TrimEnd('/')).Concat(extraArgs), "/", null,
            process => new HostProcess(process, baseAddress, dataDir));
    }

    /// <summary>Runs the host with exactly these arguments until it exits on its own (a refused start).</summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(TimeSpan timeout, params string[] args)
    {
        var (exitCode, output, _) = await RunToExitWithErrorsAsync(timeout, args);
        return (exitCode, output);
    }

    /// <summary><see cref="RunToExitAsync"/>, with its stderr alone as well.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunToExitWithErrorsAsync(TimeSpan timeout, params string[] args)
    {
        await using var host = Launch(args, "/", umask: null, process => new HostProcess(process, new Uri("http://127.0.0.1:1"), ""));
        using var cts = new CancellationTokenSource(timeout);
        await host._process.WaitForExitAsync(cts.Token);
        host._process.WaitForExit(); // drains the redirected output
        return (host._process.ExitCode, host.Output, host.ErrorOutput);
    }

    private static HostProcess Launch(IEnumerable<string> args, string workingDirectory, string? umask, Func<Process, HostProcess> create,
        int? fileLimit = null, int? softFileLimit = null, IReadOnlyDictionary<string, string>? environment = null, string? hostDll = null)
    {
        var prelude = (umask is null ? "" : $"umask {umask} && ")
            + (fileLimit is null ? "" : $"ulimit -n {fileLimit} && ")
            + (softFileLimit is null ? "" : $"ulimit -Sn {softFileLimit} && ");
        var start = new ProcessStartInfo(prelude.Length == 0 ? "dotnet" : "/bin/sh")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (prelude.Length > 0)
            foreach (var arg in (string[])["-c", $"{prelude}exec dotnet \"$@\"", "sh"]) start.ArgumentList.Add(arg);
        start.ArgumentList.Add(hostDll ?? HostDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("ASPNETCORE_URLS");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var host = create(process);
        process.OutputDataReceived += (_, e) => { lock (host._output) host._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (host._output)
            {
                host._output.AppendLine(e.Data);
                host._errors.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    private async Task WaitUntilReadyAsync(string[] agents)
    {
        // Generous: readiness is not a latency, and a cold host on a busy 2-core machine answers its first request slowly.
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the host exited with {_process.ExitCode}:\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the host did not come up:\n{Output}");
            try
            {
                // Until the sign-in link is written this is a 401, unless sign-in is off.
                using var http = CreateClient(TimeSpan.FromSeconds(20));
                using var response = await http.GetAsync("/api/state");
                if (response.IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(50);
        }
        foreach (var agent in agents) await (await ConnectLinesAsync(agent)).DisposeAsync();
    }

    /// <summary>
    /// Waits for a line in the host's output. The console logger writes on a thread of its own, so a line logged
    /// before an effect the test saw can still be on its way: assert a log line with this, never with a plain read.
    /// </summary>
    public Task OutputContainsAsync(string text, int seconds = 30) =>
        HiveInstance.Until(() => Output.Contains(text, StringComparison.Ordinal), TimeSpan.FromSeconds(seconds), $"the host to log \"{text}\"");

    public async Task<AgentClient> ConnectAsync(string agent) => AgentClient.Over(await ConnectLinesAsync(agent));

    /// <summary>The raw line client (what the benchmarks measure with); retries while the host is still binding its sockets.</summary>
    public async Task<LineClient> ConnectLinesAsync(string agent)
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
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) await KillAsync();
        _process.Dispose();
        await HostLeftovers.SweepAsync(DataDir);
    }
}
