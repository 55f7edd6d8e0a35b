using System.Diagnostics;
using System.Globalization;
using System.Text;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Processes;
using MediatR;
using Microsoft.Extensions.Options;

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

    /// <summary>
    /// Runs the job as an agent is run (the launcher's thread, a process group of its own, the log's pumps and size cap), in
    /// a sandbox of bubblewrap's that binds nothing of the hive: every namespace of its own (no network but loopback), no
    /// capability, <see cref="SeccompFilter"/>, the system read-only, tmpfs at <c>/tmp</c> and <c>/work</c> (each
    /// <see cref="ContainersOptions.JobWorkBytes"/>). The tree comes in on stdin, opened by the host's shell, and is unpacked
    /// inside. On a root host bwrap runs as <see cref="ContainersOptions.JobUid"/>. The log starts empty for each job.
    /// <para>
    /// The command is its sandbox's pid 1, so a signal it has no handler for does not reach it: at the time limit its
    /// children get SIGTERM, and the whole sandbox SIGKILL after <see cref="ContainersOptions.StopGrace"/>. When the handler
    /// returns (or throws, cancelled) no process of the job is left.
    /// </para>
    /// </summary>
    internal sealed class Handler(ProcessLauncher launcher, AgentUsers users, DriverCatalog drivers, IOptions<ContainersOptions> options, TimeProvider clock)
        : IRequestHandler<Command, Result>
    {
        private const int TailLines = 40, TailBytes = 4096;

        /// <summary>A time limit past this is refused: the timer behind it stops at about 49 days.</summary>
        private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(7);

        // As the host: $1 the tree's tar, $2 the seccomp program (fd 4 for bwrap's --seccomp 4), $3 the job's uid (empty: bwrap
        // runs as the host's user), $4 its open-files limit; then bwrap's argv. The archive and the filter are opened before
        // privileges are dropped, so the job's uid needs no right to either.
        private const string Wrapper = AgentWrapperShell.Functions + """

            archive=$1 filter=$2 uid=$3 files=$4; shift 4
            hive_enter "" "$files"
            exec 0<"$archive" 4<"$filter" || exit 125
            if [ -n "$uid" ]; then
              exec /usr/bin/setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
            fi
            exec "$@"
            """;

        // Inside, in /work: the tree from stdin, then the command (with no input: the archive is not its to read).
        private const string Unpack = """
            tar -x -f - --no-same-owner --no-same-permissions || { echo "hive: the job's tree did not unpack" >&2; exit 125; }
            exec "$@" </dev/null
            """;

        public async Task<Result> Handle(Command request, CancellationToken cancellationToken)
        {
            Check(request);
            var unavailable = SeccompFilter.Unavailable ?? users.Unavailable
                ?? (drivers.Find("bubblewrap") is { } bubblewrap ? bubblewrap.Unavailable : "the host has no bubblewrap driver");
            if (unavailable is not null) throw new ConflictException($"the check cannot run: {unavailable}");
            var settings = options.Value;
            uint? uid = users.OwnUids ? checked((uint)settings.JobUidOrDefault) : null;
            var info = StartInfo(request, uid, settings.JobWorkBytes);
            cancellationToken.ThrowIfCancellationRequested();

            Directory.CreateDirectory(request.LogDir);
            foreach (var old in new[] { AgentLog.FileName, AgentLog.FileName + ".1" }) File.Delete(Path.Combine(request.LogDir, old));
            var log = new AgentLog(request.LogDir, settings.LogBytes);
            // The program, not its arguments: an argument may be a secret.
            await log.NoteAsync($"job {request.Name} in a sealed sandbox{(uid is null ? "" : $" as uid {uid}")}, time limit {request.Timeout}: {request.Argv[0]}");
            Process process;
            try
            {
                // Not cancelled half-way: a process started after the caller gave up would have no one to stop it.
                process = await launcher.StartAsync(info);
            }
            catch (Exception e)
            {
                await log.NoteAsync($"could not start: {e.Message}");
                await log.DisposeAsync();
                throw new ConflictException($"the check cannot run: {e.Message}");
            }
            var job = new ProcessGroupAgent(process, log, clock);
            var (exit, timedOut) = await WaitAsync(job, log, request.Timeout, settings.StopGrace, cancellationToken);
            await job.LogFinished;
            return new Result(timedOut ? null : exit.Code, exit.Signal, timedOut, Path.Combine(request.LogDir, AgentLog.FileName), Tail(request.LogDir));
        }

        private static void Check(Command request)
        {
            if (!AgentNames.IsWellFormed(request.Name)) throw new BadRequestException("a job's name matches ^[a-z][a-z0-9-]{0,30}$");
            if (request.Argv is not { Count: > 0 } || request.Argv[0].Length == 0) throw new BadRequestException("a job's command is empty");
            if (request.Argv.Any(a => a is null || a.Contains('\0'))) throw new BadRequestException("a job's arguments are strings without NUL");
            if (string.IsNullOrEmpty(request.TreeArchive) || !File.Exists(request.TreeArchive))
                throw new BadRequestException($"the job's tree archive {request.TreeArchive} is not there");
            if (string.IsNullOrEmpty(request.LogDir) || !Path.IsPathFullyQualified(request.LogDir))
                throw new BadRequestException("a job's log dir is an absolute path");
            if (request.Timeout <= TimeSpan.Zero || request.Timeout > MaxTimeout)
                throw new BadRequestException($"a job's time limit is positive and at most {MaxTimeout.TotalDays} days");
        }

        /// <summary>The exit, and whether the time limit ended it. A request cancelled (the host stopping) kills the job first.</summary>
        private async Task<(AgentExit Exit, bool TimedOut)> WaitAsync(
            ProcessGroupAgent job, AgentLog log, TimeSpan timeout, TimeSpan grace, CancellationToken cancellationToken)
        {
            try
            {
                return (await job.Exited.WaitAsync(timeout, clock, cancellationToken), false);
            }
            catch (TimeoutException)
            {
                try
                {
                    await log.NoteAsync($"killed at its time limit ({timeout})");
                }
                catch (ObjectDisposedException)
                {
                    // It ended at that very moment, and its log is closed.
                }
                return (await EndAsync(job, grace), true);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await EndAsync(job, TimeSpan.Zero);
                await job.LogFinished;
                throw;
            }
        }

        /// <summary>
        /// Ends the job: SIGTERM to every process of its sandbox but bwrap (the group's leader), SIGKILL to them after
        /// <paramref name="grace"/>. Its first process is the sandbox's pid 1 (<c>--as-pid-1</c>): once it is killed the kernel
        /// empties the pid namespace before bwrap sees it exit, so bwrap's exit means nothing of the job is left. Killed
        /// first, bwrap would leave its sandbox dying behind it; it is killed only if it outlives its sandbox.
        /// </summary>
        private async Task<AgentExit> EndAsync(ProcessGroupAgent job, TimeSpan grace)
        {
            if (grace > TimeSpan.Zero && await EndsAsync(job, ProcessGroups.SigTerm, grace)) return await job.Exited;
            if (await EndsAsync(job, ProcessGroups.SigKill, TimeSpan.FromSeconds(10))) return await job.Exited;
            job.KillAll();
            return await job.Exited;
        }

        private async Task<bool> EndsAsync(ProcessGroupAgent job, int signal, TimeSpan wait)
        {
            ProcessGroups.SignalMembers(job.Pid, signal);
            try
            {
                await job.Exited.WaitAsync(wait, clock);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
        }

        private ProcessStartInfo StartInfo(Command request, uint? uid, long workBytes)
        {
            // setsid: the job's process group (and session) is its own, led by the pid the host started, as an agent's is.
            List<string> argv =
            [
                "/usr/bin/setsid", "/bin/sh", "-c", Wrapper, "hive-job-" + request.Name, request.TreeArchive, users.SeccompFile, uid?.ToString() ?? "",
                AgentUsers.AgentOpenFiles.ToString(CultureInfo.InvariantCulture),
            ];
            argv.AddRange(
            [
                // What --unshare-all does, the user namespace required rather than tried: it is what keeps the job unprivileged.
                BubblewrapDriver.Bwrap, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try",
                "--uid", BubblewrapDriver.InsideId, "--gid", BubblewrapDriver.InsideId, "--disable-userns", "--cap-drop", "ALL",
                "--die-with-parent", "--new-session", "--seccomp", "4", "--hostname", request.Name,
                // The job's first process is the sandbox's pid 1, with no init of bwrap's between: bwrap then exits only once
                // the kernel has emptied the sandbox (with an init it exits as the command does, while the init still tears down).
                "--as-pid-1",
            ]);
            foreach (var dir in BubblewrapDriver.SystemDirs) BubblewrapDriver.AddSystemPath(argv, dir);
            foreach (var entry in BubblewrapDriver.EtcEntries) BubblewrapDriver.AddSystemPath(argv, entry);
            var size = workBytes.ToString(CultureInfo.InvariantCulture);
            argv.AddRange(["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--dev", "/dev"]);
            argv.AddRange(["--perms", "1777", "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/work"]);
            argv.AddRange(["--chdir", "/work", "--", "/bin/sh", "-c", Unpack, "hive-job", .. request.Argv]);

            var info = new ProcessStartInfo(argv[0])
            {
                WorkingDirectory = "/",
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in argv.Skip(1)) info.ArgumentList.Add(arg);
            // Nothing of the host's environment: the wrapper and the job see these alone.
            info.Environment.Clear();
            info.Environment["HOME"] = "/tmp";
            info.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
            info.Environment["LANG"] = "C.UTF-8";
            return info;
        }

        /// <summary>The log's last lines, at most <see cref="TailLines"/> and <see cref="TailBytes"/> (whole lines where it can).</summary>
        private static string Tail(string logDir)
        {
            var tail = AgentLog.Tail(logDir, TailLines);
            var bytes = Encoding.UTF8.GetBytes(tail);
            if (bytes.Length <= TailBytes) return tail;
            var cut = bytes.Length - TailBytes;
            var wholeLine = bytes[cut - 1] == (byte)'\n';
            while (cut < bytes.Length && (bytes[cut] & 0xC0) == 0x80) cut++; // not inside a character
            var text = Encoding.UTF8.GetString(bytes, cut, bytes.Length - cut);
            var newline = text.IndexOf('\n');
            return wholeLine || newline < 0 || newline == text.Length - 1 ? text : text[(newline + 1)..];
        }
    }
}
