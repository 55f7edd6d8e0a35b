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
/// starts in a private mount namespace (<see cref="AgentStage"/>, as root, before privileges are dropped) in which the
/// agent's view covers the data dir — or the highest directory above it that others may not enter (<c>/root</c>, a
/// <c>mktemp -d</c>) — and holds only the agent's own state dir, <c>shared/</c> and its socket, bound at the paths the
/// host knows them by. Everything else of the data dir (the database, the operator token, other agents) is not there.
/// </para>
/// </summary>
internal sealed partial class AgentUsers
{
    /// <summary>The soft open-files limit agents start with (the host raises its own to the hard limit; they should not inherit that).</summary>
    public const int AgentOpenFiles = 1024;

    private readonly HivePaths _paths;
    private readonly IOptions<ContainersOptions> _options;
    private readonly ILogger<AgentUsers> _logger;
    private readonly Lazy<string?> _unavailable;
    private readonly Lazy<string> _seccompFile;

    public AgentUsers(HivePaths paths, IOptions<ContainersOptions> options, ILogger<AgentUsers> logger)
    {
        _paths = paths;
        _options = options;
        _logger = logger;
        _unavailable = new Lazy<string?>(Probe);
        _seccompFile = new Lazy<string>(WriteSeccompFile);
        Stage = new AgentStage(paths);
    }

    /// <summary>The view of the data dir each run is staged in (root host).</summary>
    public AgentStage Stage { get; }

    /// <summary>Whether agents run as uids of their own: the host is root (and can make a mount namespace; else <see cref="Unavailable"/>).</summary>
    public bool OwnUids => GetEffectiveUserId() == 0;

    /// <summary>Why a root host cannot give agents their own uid here (no mount namespaces), or null.</summary>
    public string? Unavailable => OwnUids ? _unavailable.Value : null;

    /// <summary>The agents' common gid (root host), also the base of their uids.</summary>
    public uint Gid => (uint)_options.Value.AgentUidBase;

    /// <summary>The uid of the agent in registry slot <paramref name="slot"/> (root host).</summary>
    public uint UidOf(long slot) => checked((uint)(_options.Value.AgentUidBase + slot));

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
