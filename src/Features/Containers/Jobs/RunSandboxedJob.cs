using MediatR;

namespace Hive.Features.Containers.Jobs;

/// <summary>
/// A job of the hive (a merge queue's check): a command run in a sealed sandbox of its own, never as the host's user on
/// a root host, with no network, nothing of the data dir, and a time limit. It sees the system dirs read-only and a
/// private <c>/work</c> holding the files of <see cref="Command.TreeArchive"/> (a tar the caller wrote), where it starts;
/// its output (stdout and stderr, interleaved) is kept in <c>&lt;LogDir&gt;/output.log</c>.
/// </summary>
public static class RunSandboxedJob
{
    /// <param name="Name">Who the job is for the logs and the sandbox's hostname (a plain name: letters, digits, <c>-</c>).</param>
    /// <param name="Argv">The command, run from <c>/work</c> inside the sandbox; its program is found on the sandbox's <c>PATH</c>.</param>
    /// <param name="TreeArchive">A tar file (the host's) unpacked into <c>/work</c> before the command runs.</param>
    /// <param name="LogDir">Where <c>output.log</c> is written (made if missing; the host's).</param>
    /// <param name="Timeout">When the job is killed, as a whole, and reported as timed out.</param>
    public sealed record Command(string Name, IReadOnlyList<string> Argv, string TreeArchive, string LogDir, TimeSpan Timeout) : IRequest<Result>;

    /// <param name="ExitCode">The command's exit code; null when it ended on a signal or was killed at its time limit.</param>
    /// <param name="Signal">The signal it ended on, or null.</param>
    /// <param name="TimedOut">It was killed at its time limit.</param>
    /// <param name="LogPath">The host path of its whole output.</param>
    /// <param name="Tail">The output's last lines (at most 40 lines and 4 KiB), for a message.</param>
    public sealed record Result(int? ExitCode, int? Signal, bool TimedOut, string LogPath, string Tail)
    {
        public bool Passed => ExitCode == 0 && !TimedOut;
    }
}
