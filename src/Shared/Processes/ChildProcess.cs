using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Hive.Shared.Processes;

/// <summary>
/// One run-to-completion child process (git, nixos-container, a probe, chown): a program and its argv, never a shell.
/// </summary>
/// <param name="Program">An absolute path, or a name looked up on the host's <c>PATH</c>.</param>
/// <param name="Arguments">Passed verbatim, one argv entry each: nothing is split, quoted or expanded.</param>
public sealed record ChildCommand(string Program, IReadOnlyList<string> Arguments)
{
    /// <summary>Added to <see cref="ChildProcess.BaseEnvironment"/> (and overriding it): the only variables the child gets.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>The child's cwd; null = the host's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>How long it may run before its whole process tree is killed; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> for no limit.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Written to its stdin (UTF-8), which is then closed; null = an empty stdin (never the host's).</summary>
    public string? StandardInput { get; init; }

    /// <summary>At most this many bytes of each of stdout and stderr are kept; the rest is read and dropped.</summary>
    public int CaptureBytes { get; init; } = ChildProcess.DefaultCaptureBytes;

    /// <summary>Told the child's pid once it runs (a long-lived child's supervisor shows it, and may signal it).</summary>
    public Action<int>? Started { get; init; }

    /// <summary>Given every chunk of stdout and stderr as it is read, beyond the capture's bound too (a supervisor keeps its own tail).</summary>
    public Action<ReadOnlyMemory<byte>>? Output { get; init; }

    /// <summary>
    /// Run under <c>setsid</c>: the child leads a session and process group of its own (its pid is the group's id), and at its
    /// kill, and once it has ended, that whole group is killed, so no process it started outlives it (a server's workers).
    /// </summary>
    public bool OwnProcessGroup { get; init; }
}

/// <summary>How a child ended. <see cref="TimedOut"/>: killed at its timeout (then <see cref="ExitCode"/> is the kill's status).</summary>
/// <param name="StdoutTruncated">Stdout printed more than the command's <see cref="ChildCommand.CaptureBytes"/> (the rest was dropped).</param>
/// <param name="StderrTruncated">The same for stderr.</param>
public sealed record ChildResult(int ExitCode, string Stdout, string Stderr, bool TimedOut, bool StdoutTruncated = false, bool StderrTruncated = false);

/// <summary>The child could not be started at all (the program is missing or not executable).</summary>
public sealed class ChildProcessException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The one way the host runs a short-lived child process. The child gets a clean environment — <see cref="BaseEnvironment"/>
/// plus what the caller adds — and never the host's own, which may hold the operator token (<c>Hive__Auth__Token</c>) or any
/// other secret the host was started with. Its stdin is empty unless given; stdout and stderr are captured up to a bound
/// (a chatty child cannot exhaust the host's memory) and drained beyond it; at its timeout, or when the caller cancels, its
/// whole process tree is killed and waited for.
/// <para>
/// The agents' own long-running processes are not started here: the drivers build their argv and clean environment
/// themselves and start them from <c>ProcessLauncher</c>'s thread (a parent-death signal is tied to the forking thread).
/// </para>
/// </summary>
public static partial class ChildProcess
{
    /// <summary>1 MiB per stream: far more than any of the host's calls print (a meta file, a diff, a status line).</summary>
    public const int DefaultCaptureBytes = 1 << 20;

    /// <summary>Used when the host itself has no <c>PATH</c>.</summary>
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>
    /// What every child starts with: the host's <c>PATH</c> (where its tools are; a search list, not a secret) and
    /// <c>LANG=C.UTF-8</c> (the locale agents get too; the tools' output the host parses is the same on every machine).
    /// No <c>HOME</c>: a tool that needs one is given it by its caller (git's push gets the data dir), so no child reads
    /// the host user's dotfiles by accident.
    /// </summary>
    public static IReadOnlyDictionary<string, string> BaseEnvironment => new Dictionary<string, string>
    {
        ["PATH"] = System.Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } path ? path : DefaultPath,
        ["LANG"] = "C.UTF-8",
    };

    /// <summary>Runs <paramref name="command"/> to its end or its timeout. Cancelling kills it and throws <see cref="OperationCanceledException"/>.</summary>
    /// <exception cref="ChildProcessException">The program could not be started.</exception>
    public static async Task<ChildResult> RunAsync(ChildCommand command, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(command.CaptureBytes);
        var info = new ProcessStartInfo(command.OwnProcessGroup ? SetSid : command.Program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (command.WorkingDirectory is { } cwd) info.WorkingDirectory = cwd;
        if (command.OwnProcessGroup) info.ArgumentList.Add(command.Program); // setsid execs it in place (the host's child leads no group): same pid
        foreach (var argument in command.Arguments) info.ArgumentList.Add(argument);
        info.Environment.Clear();
        foreach (var (key, value) in BaseEnvironment) info.Environment[key] = value;
        foreach (var (key, value) in command.Environment ?? new Dictionary<string, string>()) info.Environment[key] = value;

        cancellationToken.ThrowIfCancellationRequested();
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            throw new ChildProcessException($"could not run {command.Program}: {e.Message}", e);
        }
        var pid = process.Id;
        command.Started?.Invoke(pid);

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (command.Timeout != Timeout.InfiniteTimeSpan) limit.CancelAfter(command.Timeout);
        var stdout = new Capture(command.CaptureBytes, command.Output);
        var stderr = new Capture(command.CaptureBytes, command.Output);
        var pumps = Task.WhenAll(
            stdout.PumpAsync(process.StandardOutput.BaseStream, limit.Token),
            stderr.PumpAsync(process.StandardError.BaseStream, limit.Token),
            FeedAsync(process.StandardInput, command.StandardInput, limit.Token));
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(limit.Token);
            await pumps.WaitAsync(limit.Token); // a grandchild that kept a pipe open is bounded by the same limit
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            timedOut = true;
            if (command.OwnProcessGroup) KillGroup(pid);
            KillTree(process);
            await process.WaitForExitAsync(CancellationToken.None);
        }
        catch (IOException)
        {
            // A pipe failed after the child exited: what was read is kept.
        }
        try
        {
            await pumps; // each ends at its pipe's end or at the limit's cancellation
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
        if (command.OwnProcessGroup) KillGroup(pid); // whatever it left running in its group
        cancellationToken.ThrowIfCancellationRequested();
        return new ChildResult(process.ExitCode, stdout.Text, stderr.Text, timedOut, stdout.Truncated, stderr.Truncated);
    }

    /// <summary><see cref="RunAsync"/> for a caller that must block (a probe computed once, behind a <c>Lazy</c>).</summary>
    public static ChildResult Run(ChildCommand command) => RunAsync(command).GetAwaiter().GetResult();

    private const string SetSid = "/usr/bin/setsid";

    private static void KillGroup(int pgid) => _ = Kill(-pgid, 9); // ESRCH when the group is empty: nothing to do

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            // Gone already (exited between the timeout and the kill).
        }
    }

    private static async Task FeedAsync(StreamWriter stdin, string? text, CancellationToken cancellationToken)
    {
        try
        {
            if (text is not null)
            {
                await stdin.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
                await stdin.BaseStream.FlushAsync(cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The child closed its stdin without reading it all (EPIPE), or the limit came first: that is its business.
        }
        finally
        {
            try { stdin.Close(); } catch (IOException) { }
        }
    }

    /// <summary>One stream's first <c>limit</c> bytes; the rest is read and dropped so the child never blocks on a full pipe.</summary>
    private sealed class Capture(int limit, Action<ReadOnlyMemory<byte>>? output)
    {
        private readonly MemoryStream _kept = new();

        public bool Truncated { get; private set; }

        public string Text
        {
            get { lock (_kept) return Encoding.UTF8.GetString(_kept.GetBuffer(), 0, (int)_kept.Length); }
        }

        public async Task PumpAsync(Stream stream, CancellationToken cancellationToken)
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                output?.Invoke(buffer.AsMemory(0, read));
                lock (_kept)
                {
                    var room = limit - (int)_kept.Length;
                    if (read > room) Truncated = true;
                    if (room > 0) _kept.Write(buffer, 0, Math.Min(read, room));
                }
            }
        }
    }
}
