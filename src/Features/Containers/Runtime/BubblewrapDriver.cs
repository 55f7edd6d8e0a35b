using Hive.Shared.Processes;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// An agent in a bubblewrap sandbox: a read-only system (the OS dirs and a few files of <c>/etc</c>, never the whole
/// root), its own state dir at <c>/agents/&lt;name&gt;/state</c> (and <c>/state</c> for the manager), <c>/shared</c>,
/// its own socket at <c>/run/hive/&lt;name&gt;.sock</c>, its work dir at <c>/work</c> (its ticket's worktree; the bare
/// clones under <c>&lt;DataDir&gt;/work/repos</c> read-only and their store read-write, at their own paths), a private <c>/tmp</c>, <c>/proc</c> of its own pid namespace
/// (with <c>/proc/sys</c> read-only), and any read-only <c>mounts</c> it was given. Never <c>hive.db</c>, the operator
/// token, another agent's dir or the host's processes.
/// <para>
/// Without privilege, whoever runs the host: bwrap always runs unprivileged, in a user namespace of its own (the agent is
/// uid 1000 inside, further user namespaces disabled), with every capability dropped, no new privileges, a new session,
/// its own ipc, uts and cgroup namespaces, and <see cref="SeccompFilter"/>. On a root host bwrap itself already runs as the
/// agent's own uid (<see cref="AgentUsers"/>: a root shell stages its paths in a mount namespace, then drops to it), so
/// the agent is not root outside either. An open agent shares the host's network; a sealed one
/// (<see cref="LaunchSpec.Sealed"/>, ADR 0001) gets a network namespace of its own with loopback alone (bwrap brings
/// <c>lo</c> up), and reaches its model and the egress proxy through their sockets, bound beside its own, behind
/// <c>hivectl port</c> on that loopback. Its terminals are sealed in the same way.
/// <c>--die-with-parent</c> and the pid namespace take the whole sandbox down with the host.
/// </para>
/// </summary>
public sealed class BubblewrapDriver : ProcessDriverBase
{
    internal const string Bwrap = "/usr/bin/bwrap";

    /// <summary>The system's directories every sandbox sees read-only (a job's as well: <see cref="Jobs.RunSandboxedJob"/>).</summary>
    internal static readonly string[] SystemDirs = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

    /// <summary>The few entries of <c>/etc</c> a sandbox sees read-only, never the whole of it.</summary>
    internal static readonly string[] EtcEntries =
    [
        "/etc/alternatives", "/etc/ca-certificates", "/etc/ssl", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
        "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf",
        "/etc/os-release", "/etc/mime.types", "/etc/dotnet",
    ];

    /// <summary>The inside uid and gid of every agent (and job): an ordinary user's, whatever it is outside.</summary>
    internal const string InsideId = "1000";

    // $1 the agent's cgroup directories (colon-separated) or empty, $2 its open-files limit, $3 the seccomp program's file (opened as fd 4 for bwrap's
    // --seccomp 4), $4-$9 data dir, cover, table, name, uid, gid (uid empty: bwrap runs as the host's user, unstaged).
    internal const string Wrapper = AgentWrapperShell.Functions + """

        cgroup=$1 files=$2 filter=$3 data=$4 cover=$5 table=$6 name=$7 uid=$8 gid=$9; shift 9
        hive_enter "$cgroup" "$files"
        exec 4<"$filter" || exit 125
        if [ -n "$uid" ]; then
          hive_stage "$data" "$cover" "$name" "$table"
          umask 007
          exec /usr/bin/setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
        fi
        exec "$@"
        """;

    private readonly Lazy<string?> _unavailable;

    internal BubblewrapDriver(ProcessDriverServices services) : base(services)
    {
        _unavailable = new Lazy<string?>(Probe);
    }

    public override string Name => "bubblewrap";

    private protected override bool Sandboxed => true;

    public override string? Unavailable => SeccompFilter.Unavailable ?? Users.Unavailable ?? _unavailable.Value;

    public override string? ProblemWith(IReadOnlyList<string> command, IReadOnlyList<string> mounts)
    {
        if (mounts.FirstOrDefault(m => m == InsideWorkPath || m.StartsWith(InsideWorkPath + "/", StringComparison.Ordinal)) is { } hidden)
            return $"the sandbox shows the agent's ticket workspace at {InsideWorkPath}, so it cannot show the mount {hidden} there: move it elsewhere";
        if (command.Count > 0 && AgentPrograms.Resolve(Tools, command[0]).Path is { } program && !AgentPrograms.IsTool(Tools, program) && !Visible(program, mounts))
            return $"the sandbox cannot see {program}: it sees the system dirs ({string.Join(", ", SystemDirs)}) and the agent's mounts; add its directory to mounts";
        if (AgentPrograms.ScriptOf(command) is { } script && !AgentPrograms.IsTool(Tools, script) && !Visible(script, mounts))
            return $"the sandbox cannot see {script}: it sees the system dirs ({string.Join(", ", SystemDirs)}) and the agent's mounts; add its directory to mounts";
        return base.ProblemWith(command, mounts);
    }

    /// <summary>Whether the sandbox shows <paramref name="path"/>: under a system dir, or under one of its mounts.</summary>
    internal static bool Visible(string path, IReadOnlyList<string> mounts) =>
        SystemDirs.Concat(mounts).Any(root => path == root || path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal));

    public static string InsideStateDir(string name) => $"/agents/{name}/state";

    private protected override (string StateDir, string SharedDir, string Socket) InsideView(LaunchSpec spec) =>
        (InsideStateDir(spec.Name), "/shared", $"/run/hive/{spec.Name}.sock");

    /// <summary>Where every sandboxed agent sees its work dir: its ticket's worktree, when it holds one.</summary>
    public const string InsideWorkPath = "/work";

    private protected override string InsideWorkDir(LaunchSpec spec) => InsideWorkPath;

    private protected override IReadOnlyList<string> Wrap(Launch launch)
    {
        var spec = launch.Spec;
        var (stateDir, sharedDir, socket) = InsideView(spec);
        var staged = launch.Uid is not null;
        var terminal = launch.Tty is not null;
        var args = terminal ? AgentWrapperShell.TtyPrefix(launch.Tty!) : ["/usr/bin/setsid"];
        if (staged) args.AddRange(["/usr/bin/unshare", "--mount", "--propagation", "private", "--"]);
        args.AddRange(["/bin/sh", "-c", Wrapper, "hive-sandbox-" + spec.Name, launch.Cgroup ?? "", AgentUsers.AgentOpenFiles.ToString(),
            Users.SeccompFile, staged ? launch.DataDir : "", launch.Stage.Cover, launch.Stage.Table, spec.Name, launch.Uid?.ToString() ?? "",
            launch.Gid.ToString()]);
        args.AddRange(
        [
            Bwrap, "--unshare-user", "--uid", InsideId, "--gid", InsideId, "--disable-userns", "--cap-drop", "ALL",
            "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", spec.Name,
            "--seccomp", "4",
        ]);
        if (spec.Sealed) args.Add("--unshare-net");
        // A new session keeps an agent from pushing input (TIOCSTI) into a terminal it inherited. A terminal's shell keeps
        // the session setsid -c made, whose controlling terminal is its own pty (job control, Ctrl-C): what it could push
        // there only reaches itself.
        if (!terminal) args.Add("--new-session");
        foreach (var dir in SystemDirs) AddSystemPath(args, dir);
        foreach (var entry in EtcEntries) AddSystemPath(args, entry);
        args.AddRange(["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp", "--tmpfs", "/run"]);
        args.AddRange(["--bind", spec.StateDir, stateDir]);
        if (spec.IsManager) args.AddRange(["--bind", spec.StateDir, "/state"]);
        args.AddRange(["--bind", spec.SharedDir, sharedDir]);
        args.AddRange(["--bind", spec.Socket, socket]);
        if (launch.GatewaySocket is { } gateway) args.AddRange(["--bind", gateway, AgentGateway.InsideSocket(spec.Name)]);
        if (launch.EgressSocket is { } egress) args.AddRange(["--bind", egress, AgentGateway.InsideEgressSocket(spec.Name)]);
        if (launch.ForgeSocket is { } forge) args.AddRange(["--bind", forge, AgentGateway.InsideForgeSocket(spec.Name)]);
        // Its work dir at /work, bound at every start (empty until it claims a ticket of a repository: bwrap cannot add a mount
        // to a running sandbox, so Work makes the worktree inside this dir), and the bare clones at their host path, where
        // the worktree's .git file says its git dir is: read-only (their config and hooks are what the host's own git obeys),
        // with the store their objects, refs, logs and worktree records link to read-write.
        args.AddRange(["--bind", Paths.AgentWorkDir(spec.Name), InsideWorkPath]);
        args.AddRange(["--ro-bind", Paths.WorkReposDir, Paths.WorkReposDir]);
        args.AddRange(["--bind", Paths.WorkStoreDir, Paths.WorkStoreDir]);
        args.AddRange(["--ro-bind", Tools.HostDir, AgentTools.InsideDir]);
        if (AgentTools.DotnetRootOutsideUsr() is { } dotnet && Directory.Exists(dotnet)) args.AddRange(["--ro-bind", dotnet, dotnet]);
        // Bound where the agent was told they are; the host binds what they resolve to now.
        foreach (var (mount, resolved) in spec.Mounts.Zip(launch.Mounts)) args.AddRange(["--ro-bind", resolved, mount]);
        args.AddRange(["--chdir", stateDir, "--", AgentPrograms.Inside(Tools, Sandboxed, launch.Program), .. spec.Command.Skip(1)]);
        return args;
    }

    /// <summary>Binds a system path read-only; a symlink (merged /usr: /bin → usr/bin) is recreated as the same symlink.</summary>
    internal static void AddSystemPath(List<string> args, string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target) args.AddRange(["--symlink", target, path]);
        else if (info.Exists || Directory.Exists(path)) args.AddRange(["--ro-bind", path, path]);
    }

    /// <summary>Whether bwrap can make a sandbox here (it needs user namespaces or root).</summary>
    private string? Probe()
    {
        if (!File.Exists(Bwrap)) return "bubblewrap is not installed (Debian: apt-get install bubblewrap)";
        try
        {
            // As the agents will run it: as an agent's own uid on a root host (unprivileged user namespaces must be allowed).
            List<string> args =
            [
                "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc",
                "--dev", "/dev", "--die-with-parent", "true",
            ];
            if (Users.OwnUids)
            {
                var id = Users.Gid.ToString();
                args.InsertRange(0, ["--reuid", id, "--regid", id, "--clear-groups", "--", Bwrap]);
            }
            var probe = ChildProcess.Run(new ChildCommand(Users.OwnUids ? "/usr/bin/setpriv" : Bwrap, args) { Timeout = TimeSpan.FromSeconds(10) });
            if (probe.TimedOut) return "bwrap did not answer a test run within 10 s";
            return probe.ExitCode == 0 ? null : $"bwrap cannot make a sandbox here: {probe.Stderr.Trim()}";
        }
        catch (Exception e)
        {
            return $"bwrap cannot run: {e.Message}";
        }
    }
}
