using System.Runtime.InteropServices;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Files;
using Hive.Shared.Native;
using Hive.Shared.Processes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// Who an agent is, outside its sandbox. A host running as root never runs an agent as root: each agent gets a uid of its
/// own (<c>Hive:Containers:AgentUidBase</c> + its registry slot) and the agents' common gid (the base itself), its state
/// dir and socket are made its own, and <c>shared/</c> becomes the agents' group's. A host running as another user runs
/// agents as that user (the kernel gives it no other), as before.
/// <para>
/// The data dir stays 0700 and its parents as they are: an agent's own uid could not walk to its paths. So each run
/// starts in a private mount namespace (<see cref="StageScript"/>, as root, before privileges are dropped) in which a
/// tmpfs covers the data dir — or the highest directory above it that others may not enter (<c>/root</c>, a
/// <c>mktemp -d</c>) — and only the agent's own state dir, <c>shared/</c> and its socket are bound back, at the paths the
/// host knows them by. Everything else of the data dir (the database, the operator token, other agents) is not there.
/// </para>
/// </summary>
internal sealed partial class AgentUsers
{
    /// <summary>The soft open-files limit agents start with (the host raises its own to the hard limit; they should not inherit that).</summary>
    public const int AgentOpenFiles = 1024;

    /// <summary>
    /// A shell function for a root shell in a fresh mount namespace: <c>hive_stage DATA COVER NAME</c> hides the data dir
    /// under a tmpfs on COVER and binds the agent's paths back (state dir, work dir, the bare clones its worktree's
    /// <c>.git</c> names, <c>shared/</c>, its socket, the sockets of its gateway and its egress proxy when it has them), and the hive's tools (<see cref="AgentTools"/>). The data dir is held open as fd 3 first, so the binds
    /// reach the real directories through <c>/proc/self/fd/3</c> after the tmpfs has covered their path; a bind's target
    /// that the directories made do not hold (a socket) is made as an empty file first.
    /// </summary>
    public const string StageScript = """
        hive_stage() {
          exec 3<"$1" || exit 125
          mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev hive-agent "$2" || exit 125
          mkdir -p "$1/agents/$3/state" "$1/agents/$3/work" "$1/work/repos" "$1/work/store" "$1/shared" "$1/run" "$1/tools" || exit 125
          exec 5<"$1" || exit 125
          while read -r from to rest; do [ -e "$to" ] || : > "$to" || exit 125; done < "/proc/self/fd/3/stage/$3.fstab"
          mount --no-canonicalize -a -T "/proc/self/fd/3/stage/$3.fstab" || exit 125
          exec 3<&- 5<&-
        }
        """;

    /// <summary>
    /// The binds <c>hive_stage</c> makes, as one fstab for one <c>mount -a</c> (one process, not one per bind: a fleet of 200 agents starts faster):
    /// each from the real data dir (fd 3) onto the tmpfs over it (fd 5; 4 is bubblewrap's seccomp program), so no line holds the data dir's path (which may
    /// need fstab's escapes); an agent's name never does. Written by the host before each staged run, where no agent reaches.
    /// </summary>
    internal static string StageTable(string agent, params IEnumerable<string?> sockets) => string.Concat(
        new[] { $"agents/{agent}/state", $"agents/{agent}/work", "work/repos", "work/store", "shared", $"run/{agent}.sock", "tools" }.Concat(sockets)
            .OfType<string>().Select(path => $"/proc/self/fd/3/{path} /proc/self/fd/5/{path} none bind 0 0\n"));

    /// <summary>
    /// Writes <see cref="StageTable"/> to <c>stage/NAME.fstab</c> in the data dir (0600, the host's) when this host has not
    /// written it as it should be yet: its content depends on the name and the extra sockets alone, so later starts find
    /// it as it should be. <paramref name="sockets"/>: the host paths of the agent's gateway's socket and its
    /// egress proxy's, those it has; each bound back when it lies in the data dir (elsewhere the agent's user
    /// reaches it as it is).
    /// </summary>
    public void WriteStageTable(string agent, IReadOnlyList<string> sockets)
    {
        var table = StageTable(agent, sockets.Select(InDataDir));
        if (_stageTablesWritten.TryGetValue(agent, out var written) && written == table) return;
        var dir = Path.Combine(_paths.DataDir, "stage");
        HivePaths.EnsurePrivateDirectory(dir);
        WriteHostFile(Path.Combine(dir, AgentName.Checked(agent) + ".fstab"), System.Text.Encoding.ASCII.GetBytes(table));
        _stageTablesWritten[agent] = table;
    }

    /// <summary>The path of <paramref name="path"/> inside the data dir, for a stage table's line; null when it lies elsewhere.</summary>
    private string? InDataDir(string path)
    {
        var relative = Path.GetRelativePath(_paths.DataDir, Path.GetFullPath(path));
        if (relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative)) return null;
        // A table line is split on blanks, and fstab would need escapes for them: a name the hive gives never has any.
        if (!StageablePath().IsMatch(relative)) throw new DriverException($"the socket {path} cannot be shown to the agent: its name must be plain");
        return relative;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9._/-]+$")]
    private static partial System.Text.RegularExpressions.Regex StageablePath();

    private readonly HivePaths _paths;
    private readonly IOptions<ContainersOptions> _options;
    private readonly ILogger<AgentUsers> _logger;
    private readonly Lazy<string?> _unavailable;
    private readonly Lazy<string> _seccompFile;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _stageTablesWritten = new(StringComparer.Ordinal);

    public AgentUsers(HivePaths paths, IOptions<ContainersOptions> options, ILogger<AgentUsers> logger)
    {
        _paths = paths;
        _options = options;
        _logger = logger;
        _unavailable = new Lazy<string?>(Probe);
        _seccompFile = new Lazy<string>(WriteSeccompFile);
    }

    /// <summary>Whether agents run as uids of their own: the host is root (and can make a mount namespace; else <see cref="Unavailable"/>).</summary>
    public bool OwnUids => GetEffectiveUserId() == 0;

    /// <summary>Why a root host cannot give agents their own uid here (no mount namespaces), or null.</summary>
    public string? Unavailable => OwnUids ? _unavailable.Value : null;

    /// <summary>The agents' common gid (root host), also the base of their uids.</summary>
    public uint Gid => (uint)_options.Value.AgentUidBase;

    /// <summary>The uid of the agent in registry slot <paramref name="slot"/> (root host).</summary>
    public uint UidOf(long slot) => checked((uint)(_options.Value.AgentUidBase + slot));

    /// <summary>The directory the stage covers: the highest one from the data dir up that others may not enter.</summary>
    public string CoverFor()
    {
        var cover = _paths.DataDir;
        for (var dir = Path.GetDirectoryName(_paths.DataDir); dir is not null && dir != "/"; dir = Path.GetDirectoryName(dir))
            if (!File.GetUnixFileMode(dir).HasFlag(UnixFileMode.OtherExecute)) cover = dir;
        return cover;
    }

    /// <summary>
    /// Makes the agent's paths its own before a run (root host): its state dir tree, its socket (and its gateway's and egress proxy's: <paramref name="sockets"/>), and <c>shared/</c> for the
    /// agents' group. Nothing of the data dir itself is widened. The tree is walked only when the state dir is not the
    /// agent's yet (made by the host, or left by a host that was not root): a name keeps its uid for good.
    /// </summary>
    public async Task PrepareAsync(LaunchSpec spec, uint uid, IReadOnlyList<string> sockets)
    {
        var gid = Gid;
        if (FileStatus.OwnerOfPath(spec.StateDir) != (uid, gid)) await ChownTreeAsync(spec.StateDir, uid, gid);
        File.SetUnixFileMode(spec.StateDir, HivePaths.PrivateDir);
        Chown(spec.Socket, uid, gid);
        // Its gateway's and egress proxy's sockets, which its port connects to as the agent's own user, as its own socket is.
        foreach (var socket in sockets) Chown(socket, uid, gid);
        Chown(spec.SharedDir, 0, gid);
        File.SetUnixFileMode(spec.SharedDir, HivePaths.PrivateDir | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute);
    }

    /// <summary>
    /// The work layer's paths every agent is shown (<see cref="HivePaths.AgentWorkDir"/>, bound at <c>/work</c> in a
    /// sandbox, and <see cref="HivePaths.WorkReposDir"/> and <see cref="HivePaths.WorkStoreDir"/>, bound at their own
    /// paths so that a worktree's <c>.git</c> file resolves), made before each run: a bind needs its source, and bwrap cannot add a mount to a running sandbox, so the
    /// ticket's worktree is made inside the dir the sandbox already shows. Made empty and the host's (the agent can read it,
    /// not write it); Work's workspaces hand a worktree over to the agent and take it back. On a root host the bare clones'
    /// dir is the agents' group's to enter (never to write: each clone says what of it is theirs).
    /// </summary>
    public void PrepareWorkDirs(string agent)
    {
        HivePaths.EnsurePrivateDirectory(_paths.WorkDir);
        foreach (var dir in new[] { _paths.WorkReposDir, _paths.WorkStoreDir }.Where(d => !Directory.Exists(d)))
        {
            Directory.CreateDirectory(dir, HivePaths.PrivateDir);
            if (OwnUids) Chown(dir, 0, Gid);
            File.SetUnixFileMode(dir, HivePaths.PrivateDir | (OwnUids ? UnixFileMode.GroupRead | UnixFileMode.GroupExecute : 0));
        }
        var work = _paths.AgentWorkDir(agent);
        if (!Directory.Exists(work))
        {
            Directory.CreateDirectory(work, HivePaths.PrivateDir);
            File.SetUnixFileMode(work, HivePaths.PrivateDir | (OwnUids ? UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute : 0));
        }
    }

    /// <summary>
    /// The first directory on the way to <paramref name="path"/> (or the path itself) that a user other than its owner and
    /// group cannot pass (no search right on a directory, no right to read the file, or to <paramref name="run"/> it), or null.
    /// </summary>
    public static string? ClosedToOthers(string path, bool run = false)
    {
        var full = Path.GetFullPath(path);
        for (var dir = Path.GetDirectoryName(full); dir is not null; dir = Path.GetDirectoryName(dir))
            if (!File.GetUnixFileMode(dir).HasFlag(UnixFileMode.OtherExecute)) return dir;
        if (!File.Exists(full) && !Directory.Exists(full)) return null; // its absence is reported elsewhere
        var mode = File.GetUnixFileMode(full);
        var needed = Directory.Exists(full) ? UnixFileMode.OtherRead | UnixFileMode.OtherExecute
            : run ? UnixFileMode.OtherExecute : UnixFileMode.OtherRead;
        return (mode & needed) == needed ? null : full;
    }

    /// <summary>The seccomp program's file (written once, the host's own, 0600): the agent's wrapper opens it before dropping privileges.</summary>
    public string SeccompFile => _seccompFile.Value;

    private string WriteSeccompFile()
    {
        var path = Path.Combine(_paths.DataDir, "sandbox-seccomp.bpf");
        WriteHostFile(path, SeccompFilter.Build());
        return path;
    }

    /// <summary>
    /// A file of the host's (0600, created so: never readable by others even for a moment), replaced whole by a rename. Not
    /// flushed to disk: each host life writes its files again before first use.
    /// </summary>
    private static void WriteHostFile(string path, ReadOnlySpan<byte> content) => PrivateFile.Write(path, content, Durability.None);

    /// <summary>
    /// The tree, by GNU chown's physical walk (<c>-R -P -h</c>: fts descending through directory descriptors, a link changed
    /// itself and never followed, at the top or anywhere below): the agent planted whatever the tree holds.
    /// </summary>
    private static async Task ChownTreeAsync(string root, uint uid, uint gid)
    {
        // A new agent's state dir is empty and no process of its runs yet: lchown(2) of the one entry is the whole walk, and
        // spares a fleet's create a child process each.
        if (!Directory.EnumerateFileSystemEntries(root).Any())
        {
            Chown(root, uid, gid);
            return;
        }
        // No timeout, as before: a big state dir takes what it takes, and the start waits for it.
        var chown = await ChildProcess.RunAsync(new ChildCommand("/bin/chown", ["-R", "-P", "-h", $"{uid}:{gid}", "--", root]) { Timeout = Timeout.InfiniteTimeSpan });
        if (chown.ExitCode != 0)
            throw new DriverException($"cannot give {root} to the agent's uid {uid}: {chown.Stderr.Trim().Split('\n')[0]}");
    }

    /// <summary>lchown(2): a link is given away itself, never what it points to.</summary>
    internal static void Chown(string path, uint uid, uint gid)
    {
        if (LChown(path, uid, gid) != 0)
            throw new DriverException($"cannot give {path} to the agent's uid {uid}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>A root host that cannot make a mount namespace (a container without CAP_SYS_ADMIN) cannot stage an agent.</summary>
    private string? Probe()
    {
        try
        {
            var probe = ChildProcess.Run(new ChildCommand("/usr/bin/unshare", ["--mount", "--propagation", "private", "--", "/bin/true"])
            {
                Timeout = TimeSpan.FromSeconds(10),
            });
            if (probe.TimedOut) return "unshare --mount did not answer within 10 s";
            if (probe.ExitCode == 0) return null;
            var why = $"the host runs as root but cannot make a mount namespace to run agents as their own users: {probe.Stderr.Trim()}";
            _logger.LogWarning("containers: {Why}", why);
            return why;
        }
        catch (Exception e)
        {
            return $"the host runs as root but cannot run unshare(1) to run agents as their own users: {e.Message}";
        }
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChown(string path, uint uid, uint gid);
}
