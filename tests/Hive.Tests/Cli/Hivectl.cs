using System.Diagnostics;
using System.Text;

namespace Hive.Tests.Cli;

/// <summary>What one finished hivectl run printed and how it exited.</summary>
public sealed record HivectlResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Stdout byte for byte (<see cref="Stdout"/> is these bytes decoded as UTF-8).</summary>
    public byte[] StdoutBytes { get; init; } = [];

    /// <summary>Stdout as the one JSON document <c>--json</c> promises (throws when it is not exactly one).</summary>
    public JsonElement Json
    {
        get
        {
            var text = Stdout.Trim();
            Assert.False(text.Contains('\n'), $"--json printed more than one line:\n{Stdout}");
            return JsonDocument.Parse(text).RootElement.Clone();
        }
    }

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>
/// The built hivectl (src/Cli, built beside the tests through a project reference that is not referenced as an assembly),
/// run as a child process exactly as a user or an agent runs it: <c>dotnet hivectl.dll ARGS</c>, with a deadline, and
/// killed by its pid when the deadline passes or the test ends. The child gets none of the test process's HIVE_*
/// variables unless a test gives them.
/// </summary>
public static class Hivectl
{
    public static string Dll { get; } = FindDll();

    /// <summary>hivectl where an agent's own process can run it (<see cref="AgentReadable"/>).</summary>
    public static string ForAgents => AgentReadable.Of(Dll);

    private static string FindDll()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Hive.sln"))) continue;
            foreach (var config in new[] { configuration, "Debug", "Release" })
            {
                var built = Path.Combine(dir.FullName, "src", "Cli", "bin", config, "net10.0", "hivectl.dll");
                if (File.Exists(built)) return built;
            }
            break;
        }
        throw new FileNotFoundException("src/Cli is not built: dotnet build src/Cli");
    }

    /// <summary>Runs hivectl to its end (at most <paramref name="timeout"/>, 30 s by default), <paramref name="stdin"/> on its stdin.</summary>
    public static async Task<HivectlResult> RunAsync(string[] args, IReadOnlyDictionary<string, string>? env = null,
        TimeSpan? timeout = null, string? workingDirectory = null, string? stdin = null)
    {
        await using var run = Start(args, env, workingDirectory, stdin);
        return await run.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Starts hivectl and returns at once (for <c>tail</c>, <c>logs -f</c>, <c>ask --wait</c>); dispose to kill it. Its stdin
    /// holds <paramref name="stdin"/> (UTF-8), then ends; nothing when null.
    /// </summary>
    public static RunningHivectl Start(string[] args, IReadOnlyDictionary<string, string>? env = null, string? workingDirectory = null,
        string? stdin = null)
    {
        // SIGINT back to its default, as in a terminal: a suite started as a background job hands its children SIGINT
        // ignored (POSIX), and .NET keeps a signal ignored at start ignored, so Ctrl-C would never reach hivectl.
        var info = new ProcessStartInfo("/usr/bin/env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in (string[])["--default-signal=INT", "dotnet", Dll, .. args]) info.ArgumentList.Add(arg);
        foreach (var name in new[] { "HIVE_SOCKET", "HIVE_URL", "HIVE_TOKEN" }) info.Environment.Remove(name);
        if (env is not null)
            foreach (var (key, value) in env) info.Environment[key] = value;
        return new RunningHivectl(Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start"), stdin);
    }
}

/// <summary>
/// A hivectl child process still running: its output so far (the bytes as printed, so a test can see every control
/// character; a line reader would drop carriage returns), a wait on what it prints, and a kill by pid.
/// </summary>
public sealed class RunningHivectl : IAsyncDisposable
{
    private readonly Process _process;
    private readonly MemoryStream _stdout = new();
    private readonly MemoryStream _stderr = new();
    private readonly object _gate = new();
    private readonly Task _drained;

    public RunningHivectl(Process process, string? stdin = null)
    {
        _process = process;
        Pid = process.Id;
        _drained = Task.WhenAll(CopyAsync(process.StandardOutput.BaseStream, _stdout), CopyAsync(process.StandardError.BaseStream, _stderr));
        if (stdin is not null)
        {
            // Small inputs only (a test's file): a pipe takes 64 KiB before hivectl reads any of it.
            process.StandardInput.BaseStream.Write(new UTF8Encoding(false).GetBytes(stdin));
            process.StandardInput.BaseStream.Flush();
        }
        process.StandardInput.Close();
    }

    private async Task CopyAsync(Stream from, MemoryStream to)
    {
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer)) > 0)
                lock (_gate) to.Write(buffer, 0, read);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // the process is gone
        }
    }

    public int Pid { get; }

    /// <summary>Whether hivectl has exited.</summary>
    public bool HasExited => _process.HasExited;

    public byte[] StdoutBytes { get { lock (_gate) return _stdout.ToArray(); } }
    public string Stdout => Encoding.UTF8.GetString(StdoutBytes);
    public string Stderr { get { lock (_gate) return Encoding.UTF8.GetString(_stderr.ToArray()); } }

    /// <summary>The lines printed so far, whole ones only while it runs (a line still being written is not one yet).</summary>
    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            var text = Stdout;
            if (!_process.HasExited && text.LastIndexOf('\n') is var end) text = end < 0 ? "" : text[..end];
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
    }
    public IReadOnlyList<string> StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Waits (with a deadline) until stdout holds a line that satisfies <paramref name="line"/>.</summary>
    public async Task<string> UntilLineAsync(Func<string, bool> line, TimeSpan? timeout = null, string? what = null)
    {
        string? found = null;
        try
        {
            await HiveInstance.Until(() => (found = StdoutLines.FirstOrDefault(line)) is not null || _process.HasExited,
                timeout ?? TimeSpan.FromSeconds(15), what ?? "a line from hivectl");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        if (found is null)
        {
            await _drained; // it exited: take all it printed, then look once more
            found = StdoutLines.FirstOrDefault(line);
        }
        return found ?? throw new InvalidOperationException($"hivectl exited ({_process.ExitCode}) before printing {what}:\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    /// <summary>Waits for the process to end (killing it by pid and throwing when <paramref name="timeout"/> passes first).</summary>
    public async Task<HivectlResult> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"hivectl did not exit within {timeout}:\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        await _drained;
        return new HivectlResult(_process.ExitCode, Stdout, Stderr) { StdoutBytes = StdoutBytes };
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited) Process.GetProcessById(Pid).Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // already gone
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
        }
        _process.Dispose();
    }
}
