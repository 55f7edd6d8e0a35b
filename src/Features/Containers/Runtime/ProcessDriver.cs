using Hive.Shared.Processes;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// An agent as a plain child process: its own session and process group, no isolation (for agents you trust). A small
/// shell supervises it: on the host's death (the parent-death signal, SIGKILL included) the shell kills the whole group,
/// so no agent process outlives the host; SIGTERM from a stop reaches the agent and is only noted by the shell, which then
/// exits with the agent's status. Where the host may use cgroups, the shell first moves itself into the agent's own
/// (<see cref="AgentCgroups"/>), so children that leave the group are killed with it too. On a root host the shell, in a
/// mount namespace of its own, hides the data dir but for the agent's paths and runs the agent as its own user
/// (<see cref="AgentUsers"/>): it cannot write any cgroup's <c>cgroup.procs</c>, so nothing it starts leaves its cgroup.
/// <para>
/// A sealed agent (<see cref="LaunchSpec.Sealed"/>, ADR 0001; root host only) also gets a network namespace of its own:
/// the root shell brings its <c>lo</c> up (the port listens there) and covers <c>/run/nscd</c> and
/// <c>/run/systemd/resolve</c> (a resolver reached by path would answer names for it) before dropping to the agent's
/// user, who cannot undo any of it. What it still reaches: the host's other Unix sockets by path, and AF_VSOCK (this
/// driver has no seccomp filter). Its terminals are sealed in the same way.
/// </para>
/// </summary>
public sealed class ProcessDriver : ProcessDriverBase
{
    // $1 the agent's cgroup directories (colon-separated, the membership one first) or empty, $2 its open-files limit, $3-$8 data dir, cover, table, name, uid, gid (uid empty: run as the
    // host's user, unstaged). The cgroup is joined before the agent starts, so every process it makes is born inside; on the
    // host's death the shell kills the cgroup's other members (its terminals' cgroups beneath it too), then its own group
    // (itself last). A stop (SIGTERM to the
    // group, this shell included) before the agent runs ends the shell as if killed by it; once the agent runs, the shell
    // only waits for it.
    internal const string AgentShell = AgentWrapperShell.Functions + SealFunction + """

        cgroup=$1 files=$2 data=$3 cover=$4 table=$5 name=$6 uid=$7 gid=$8 net=$9; shift 9
        trap 'exit 143' TERM INT HUP
        hive_enter "$cgroup" "$files"
        if [ -n "$uid" ]; then
          hive_stage "$data" "$cover" "$name" "$table"
          [ -z "$net" ] || hive_seal "$net"
          cd "$data/agents/$name/state" || exit 125
          umask 007
          set -- /usr/bin/setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
        fi
        trap 'if [ -n "$cgroup" ]; then for p in $(cat "${cgroup%%:*}/cgroup.procs" "${cgroup%%:*}"/*/cgroup.procs); do [ "$p" = $$ ] || kill -KILL "$p"; done; fi 2>/dev/null; kill -KILL 0' USR1
        "$@" &
        child=$!
        trap ':' TERM INT HUP
        while :; do
          wait "$child"; status=$?
          kill -0 "$child" 2>/dev/null || break
        done
        exit "$status"
        """;

    // A terminal's shell: the agent's entry (its cgroup, its staged paths and uid, its state dir), then the shell in place
    // of the wrapper, so the pid the host started is the session's. $1-$9 as AgentShell's.
    internal const string TerminalShell = AgentWrapperShell.Functions + SealFunction + """

        cgroup=$1 files=$2 data=$3 cover=$4 table=$5 name=$6 uid=$7 gid=$8 net=$9; shift 9
        hive_enter "$cgroup" "$files"
        if [ -n "$uid" ]; then
          hive_stage "$data" "$cover" "$name" "$table"
          [ -z "$net" ] || hive_seal "$net"
          cd "$data/agents/$name/state" || exit 125
          umask 007
          exec /usr/bin/setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
        fi
        exec "$@"
        """;

    // $9 of both shells: the path of ip(8) for a sealed agent, empty for an open one. Run by the root shell in the new
    // network and mount namespaces: without lo up, not even the port's loopback works.
    private const string SealFunction = """

        hive_seal() {
          "$1" link set lo up || exit 125
          for dir in /run/nscd /run/systemd/resolve; do
            [ -d "$dir" ] || continue
            mount -t tmpfs -o mode=0755,size=4k,nosuid,nodev,noexec hive-sealed "$dir" || exit 125
          done
        }
        """;

    internal ProcessDriver(ProcessDriverServices services) : base(services)
    {
    }

    private protected override string? CannotSeal(bool staged) =>
        !staged ? "the process driver seals an agent's network only on a host running as root (its supervisor makes the network namespace)"
            : NetworkSealing.ProcessCannotSeal();

    public override string Name => "process";

    private protected override bool Sandboxed => false;

    private protected override bool LeaderTakesStop => true;

    public override string? Unavailable
    {
        get
        {
            if (!File.Exists("/usr/bin/setsid") || !File.Exists("/usr/bin/setpriv")) return "the process driver needs setsid and setpriv (Debian's util-linux)";
            if (Users.Unavailable is { } why && !Options.Process.AllowRoot)
                return $"{why}; the process driver will not run agents as root unless Hive:Containers:Process:AllowRoot is true";
            return null;
        }
    }

    private protected override (string StateDir, string SharedDir, string Socket) InsideView(LaunchSpec spec) =>
        (spec.StateDir, spec.SharedDir, spec.Socket);

    private protected override string InsideWorkDir(LaunchSpec spec) => Paths.AgentWorkDir(spec.Name);

    private protected override IReadOnlyList<string> Wrap(Launch launch)
    {
        var spec = launch.Spec;
        var staged = launch.Uid is not null;
        var terminal = launch.Tty is not null;
        // A terminal dies with the host outright: there is no supervisor to pass the signal on.
        List<string> argv = terminal ? [.. AgentWrapperShell.TtyPrefix(launch.Tty!), "/usr/bin/setpriv", "--pdeathsig", "KILL", "--"]
            : ["/usr/bin/setsid", "/usr/bin/setpriv", "--pdeathsig", "USR1", "--"];
        // Sealed: CannotSeal has made sure the run is staged and ip is there.
        var ip = staged && spec.Sealed ? NetworkSealing.ProcessIp ?? throw new DriverException(NetworkSealing.ProcessCannotSeal()!) : null;
        if (staged) argv.AddRange(["/usr/bin/unshare", "--mount", .. ip is null ? Array.Empty<string>() : ["--net"], "--propagation", "private", "--"]);
        argv.AddRange(["/bin/sh", "-c", terminal ? TerminalShell : AgentShell, (terminal ? "hive-terminal-" : "hive-agent-") + spec.Name, launch.Cgroup ?? "", AgentUsers.AgentOpenFiles.ToString(),
            staged ? launch.DataDir : "", launch.Stage.Cover, launch.Stage.Table, spec.Name, launch.Uid?.ToString() ?? "", launch.Gid.ToString(), ip ?? "",
            launch.Program, .. spec.Command.Skip(1)]);
        return argv;
    }
}
