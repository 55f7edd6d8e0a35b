using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Drivers;

/// <summary>
/// What the process and bubblewrap drivers share: the clean environment, the launch through the dedicated thread, and the
/// log. A driver only says which program runs the agent (its argv prefix) and how the agent sees its paths.
/// </summary>
public abstract class ProcessDriverBase : IContainerDriver
{
    private readonly ProcessLauncher _launcher;
    private readonly TimeProvider _clock;
    private readonly IOptions<ContainersOptions> _options;

    private protected ProcessDriverBase(ProcessLauncher launcher, TimeProvider clock, IOptions<ContainersOptions> options)
    {
        _launcher = launcher;
        _clock = clock;
        _options = options;
    }

    public abstract string Name { get; }
    public abstract string? Unavailable { get; }

    /// <summary>The PATH agents get: the host's, so that what the operator can run from its shell resolves the same.</summary>
    internal static string AgentPath => Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } path ? path : "/usr/local/bin:/usr/bin:/bin";

    public virtual string? ProblemWith(IReadOnlyList<string> command, IReadOnlyList<string> mounts) =>
        command.Count == 0 ? "the command is empty" : Executables.Resolve(command[0], AgentPath).Problem;

    /// <summary>How the agent sees its paths: (state dir, shared dir, socket).</summary>
    private protected abstract (string StateDir, string SharedDir, string Socket) InsideView(LaunchSpec spec);

    /// <summary>The program and arguments that run <paramref name="spec"/>'s command under this driver (in <paramref name="cgroup"/>, when given).</summary>
    private protected abstract IReadOnlyList<string> Wrap(LaunchSpec spec, string program, string? cgroup);

    /// <summary>The cgroups this driver's agents are held in; null for a driver that holds them otherwise (a pid namespace).</summary>
    private protected virtual AgentCgroups? Cgroups => null;

    /// <summary>Nothing to adopt: these agents die with the host that started them.</summary>
    public Task<RunningAgent?> AdoptAsync(LaunchSpec spec, CancellationToken cancellationToken) => Task.FromResult<RunningAgent?>(null);

    /// <summary>Nothing to remove: the process is gone once stopped, and the state dir stays as the tombstone.</summary>
    public Task DestroyAsync(LaunchSpec spec, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<RunningAgent> StartAsync(LaunchSpec spec, CancellationToken cancellationToken)
    {
        if (Unavailable is { } why) throw new DriverException(why);
        var (program, problem) = Executables.Resolve(spec.Command[0], AgentPath);
        if (program is null) throw new DriverException(problem!);

        var cgroup = Cgroups?.Create(spec.Name);
        var argv = Wrap(spec, program, cgroup);
        var info = new ProcessStartInfo(argv[0])
        {
            WorkingDirectory = spec.StateDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in argv.Skip(1)) info.ArgumentList.Add(arg);

        // A clean environment: the hive's variables and the agent's own, nothing else of the host's.
        info.Environment.Clear();
        var (stateDir, sharedDir, socket) = InsideView(spec);
        foreach (var (key, value) in spec.Env) info.Environment[key] = value;
        info.Environment["HIVE_AGENT"] = spec.Name;
        info.Environment["HIVE_SOCKET"] = socket;
        info.Environment["HIVE_STATE_DIR"] = stateDir;
        info.Environment["HIVE_SHARED_DIR"] = sharedDir;
        info.Environment["PATH"] = AgentPath;
        info.Environment["HOME"] = stateDir;
        info.Environment["LANG"] = spec.Env.TryGetValue("LANG", out var lang) ? lang : "C.UTF-8";

        var log = new AgentLog(spec.LogDir, _options.Value.LogBytes);
        await log.NoteAsync($"starting under {Name}: {program}"); // the program, not its arguments: an argument may be a secret
        Process process;
        try
        {
            process = await _launcher.StartAsync(info).WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await log.NoteAsync($"could not start: {e.Message}");
            await log.DisposeAsync();
            if (cgroup is not null) await Cgroups!.KillAndRemoveAsync(cgroup);
            throw new DriverException($"{Name} could not start {argv[0]}: {e.Message}", e);
        }
        return new ProcessGroupAgent(process, log, _clock, cgroup is null ? null : (Cgroups!, cgroup));
    }
}

/// <summary>
/// An agent as a plain child process: its own session and process group, cwd its state dir, no isolation (for agents
/// you trust). A small shell supervises it: on the host's death (the parent-death signal, SIGKILL included) the shell
/// kills the whole group, so no agent process outlives the host; SIGTERM from a stop reaches the agent and is only
/// noted by the shell, which then exits with the agent's status. Where the host may use cgroups, the shell first moves
/// itself into the agent's own (<see cref="AgentCgroups"/>), so children that leave the group are killed with it too.
/// </summary>
public sealed class ProcessDriver : ProcessDriverBase
{
    // $1 is the agent's cgroup, or empty. Joined before the agent starts, so every process it makes is born inside; on
    // the host's death the shell kills the cgroup's other members, then its own group (itself last).
    internal const string Supervisor = """
        cgroup=$1; shift
        if [ -n "$cgroup" ]; then
          echo $$ > "$cgroup/cgroup.procs" || { echo "hive: could not join $cgroup" >&2; exit 125; }
        fi
        trap 'if [ -n "$cgroup" ]; then for p in $(cat "$cgroup/cgroup.procs"); do [ "$p" = $$ ] || kill -KILL "$p"; done; fi 2>/dev/null; kill -KILL 0' USR1
        trap ':' TERM INT HUP
        "$@" &
        child=$!
        while :; do
          wait "$child"; status=$?
          kill -0 "$child" 2>/dev/null || break
        done
        exit "$status"
        """;

    private readonly AgentCgroups _cgroups;

    internal ProcessDriver(ProcessLauncher launcher, TimeProvider clock, IOptions<ContainersOptions> options, AgentCgroups cgroups) : base(launcher, clock, options)
    {
        _cgroups = cgroups;
    }

    private protected override AgentCgroups? Cgroups => _cgroups;

    public override string Name => "process";

    public override string? Unavailable =>
        File.Exists("/usr/bin/setsid") && File.Exists("/usr/bin/setpriv") ? null : "the process driver needs setsid and setpriv (Debian's util-linux)";

    private protected override (string StateDir, string SharedDir, string Socket) InsideView(LaunchSpec spec) =>
        (spec.StateDir, spec.SharedDir, spec.Socket);

    private protected override IReadOnlyList<string> Wrap(LaunchSpec spec, string program, string? cgroup) =>
        ["/usr/bin/setsid", "/usr/bin/setpriv", "--pdeathsig", "USR1", "--", "/bin/sh", "-c", Supervisor, "hive-agent-" + spec.Name, cgroup ?? "",
            program, .. spec.Command.Skip(1)];
}
