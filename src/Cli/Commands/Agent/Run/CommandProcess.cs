using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Hive.Cli.Commands.Agent.Run;

/// <summary>
/// COMMAND as a child process in a process group of its own, so that a stop reaches everything it started. It is started
/// through <c>setsid</c> when there is one: a child of .NET is not a group leader, so setsid makes a new session and execs
/// COMMAND in place, and COMMAND's pid is its group's id. Without setsid it is a plain child, and a stop signals it alone.
/// </summary>
internal sealed class CommandProcess : IDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    private static readonly string? Setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    private readonly bool _ownGroup;

    private CommandProcess(Process process, bool ownGroup)
    {
        Process = process;
        _ownGroup = ownGroup;
    }

    /// <summary>The child: its stdin and stdout are redirected (but for one on a terminal, <see cref="StartOnTerminal"/>).</summary>
    public Process Process { get; }

    /// <summary>
    /// Starts <paramref name="argv"/> with <paramref name="environment"/> added. Throws <see cref="InvalidOperationException"/>
    /// or <see cref="System.ComponentModel.Win32Exception"/> when it cannot run: through setsid, the program is looked up
    /// first (a path, else <c>$PATH</c>, else the working directory, as .NET would), so that a missing program is said as
    /// such rather than as setsid's exit status.
    /// </summary>
    public static CommandProcess Start(string[] argv, IReadOnlyDictionary<string, string> environment)
    {
        var program = Setsid is null ? argv[0] : Resolve(argv[0]) ?? throw new InvalidOperationException("no such program (not an executable file, nor on PATH)");
        var info = new ProcessStartInfo(Setsid ?? program) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Setsid is not null) info.ArgumentList.Add(program); // an absolute path: never taken for one of setsid's options
        foreach (var arg in argv.Skip(1)) info.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException("it did not start");
        return new CommandProcess(process, ownGroup: Setsid is not null);
    }

    /// <summary>
    /// Starts <paramref name="argv"/> on the terminal <paramref name="tty"/> (a pty's slave, which the caller never holds):
    /// a shell opens it as stdin, stdout and stderr, then <c>setsid -c</c> makes a session with it as the controlling
    /// terminal, so that COMMAND's pid is its session's and group's id, and Ctrl-C typed reaches its foreground group.
    /// Throws as <see cref="Start"/> does, and when there is no setsid (without it COMMAND would have no terminal of its own).
    /// </summary>
    public static CommandProcess StartOnTerminal(string[] argv, IReadOnlyDictionary<string, string> environment, string tty)
    {
        if (Setsid is null) throw new InvalidOperationException("setsid (util-linux) is needed to give it a terminal of its own");
        var program = Resolve(argv[0]) ?? throw new InvalidOperationException("no such program (not an executable file, nor on PATH)");
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var arg in (string[])["-c", TerminalOpen, "hive-pty", tty, Setsid, "-c", program, .. argv.Skip(1)]) info.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException("it did not start");
        return new CommandProcess(process, ownGroup: true);
    }

    // $1 the pty's slave, opened before the new session: it becomes the controlling terminal only once setsid -c makes it so.
    private const string TerminalOpen = "exec 0<>\"$1\" 1>&0 2>&0 || exit 125; shift; exec \"$@\"";

    /// <summary>
    /// The stop the hive asks for: SIGTERM to the group, then SIGKILL to it once <paramref name="grace"/> less a margin
    /// (a fifth, at most 1 s: the hive ends the turn itself at the grace's end) has passed with anything of it left.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Signal(SigTerm);
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, grace.Ticks / 5));
        var deadline = DateTime.UtcNow + (grace - margin);
        while (Alive && DateTime.UtcNow < deadline) await Task.Delay(50);
        if (Alive) Signal(SigKill);
    }

    /// <summary>Whether anything of COMMAND is left: a process in its group, or COMMAND itself without one.</summary>
    private bool Alive => _ownGroup ? Kill(-Process.Id, 0) == 0 : !Process.HasExited;

    private void Signal(int signal)
    {
        if (_ownGroup) Kill(-Process.Id, signal);
        else if (!Process.HasExited) Kill(Process.Id, signal);
    }

    private static string? Resolve(string name)
    {
        if (name.Contains('/')) return Executable(Path.GetFullPath(name));
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(dir => Executable(Path.Combine(dir, name))).FirstOrDefault(p => p is not null)
               ?? Executable(Path.GetFullPath(name));
    }

    private static string? Executable(string path)
    {
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        try
        {
            return File.Exists(path) && (File.GetUnixFileMode(path) & anyExecute) != 0 ? Path.GetFullPath(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public void Dispose() => Process.Dispose();
}
