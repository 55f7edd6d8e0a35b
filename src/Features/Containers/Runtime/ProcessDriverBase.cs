using System.Diagnostics;
using Hive.Shared;
using Hive.Shared.Egress;
using Hive.Shared.Gateway;
using Hive.Shared.Processes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Runtime;

/// <summary>What the process and bubblewrap drivers are built from.</summary>
internal sealed record ProcessDriverServices(
    ProcessLauncher Launcher, TimeProvider Clock, IOptions<ContainersOptions> Options, AgentCgroups Cgroups, AgentUsers Users, HivePaths Paths,
    AgentTools Tools, IAgentGateways Gateways, IAgentEgress Egress);

/// <summary>
/// What the process and bubblewrap drivers share: the clean environment, who the agent runs as (<see cref="AgentUsers"/>),
/// its cgroup, the mounts as resolved now, the launch through the dedicated thread, and the log. A driver only says which
/// program runs the agent (its argv prefix) and how the agent sees its paths. The programs it runs are found by
/// <see cref="AgentPrograms"/>; its wrapper's shell pieces are <see cref="AgentWrapperShell"/>.
/// </summary>
public abstract class ProcessDriverBase : IContainerDriver
{
    private readonly ProcessDriverServices _services;

    private protected ProcessDriverBase(ProcessDriverServices services)
    {
        _services = services;
    }

    private protected AgentUsers Users => _services.Users;
    private protected AgentTools Tools => _services.Tools;
    private protected HivePaths Paths => _services.Paths;

    /// <summary>Whether the agent sees a sandbox's paths (bubblewrap) rather than the host's (process).</summary>
    private protected abstract bool Sandboxed { get; }

    /// <summary>
    /// Why this driver cannot run a sealed agent (<see cref="LaunchSpec.Sealed"/>) here, or null; <paramref name="staged"/>:
    /// the run is staged as the agent's own user by a root shell. Asked at every start and terminal: a sealed agent never
    /// runs open.
    /// </summary>
    private protected virtual string? CannotSeal(bool staged) => null;

    /// <summary>Whether a stop's SIGTERM goes to the group's leader too (a supervisor that handles it), not only its members.</summary>
    private protected virtual bool LeaderTakesStop => false;
    private protected ContainersOptions Options => _services.Options.Value;

    public abstract string Name { get; }
    public abstract string? Unavailable { get; }

    public virtual string? ProblemWith(IReadOnlyList<string> command, IReadOnlyList<string> mounts)
    {
        if (command.Count == 0) return "the command is empty";
        var (program, problem) = AgentPrograms.Resolve(Tools, command[0]);
        if (program is null) return problem;
        if (MountRules.FirstProblem(mounts, _services.Paths) is { } mountProblem) return mountProblem;
        if (!Users.OwnUids) return null;
        // A root host runs the agent as a user of its own, who must be able to reach what it runs, the script it gives an
        // interpreter, and what it is shown (the hive's tools it is always shown).
        var reached = mounts.Select(m => (m, false)).Prepend((program, true));
        if (AgentPrograms.ScriptOf(command) is { } script) reached = reached.Append((script, false));
        foreach (var (path, run) in reached.Where(p => !AgentPrograms.IsTool(Tools, p.Item1)))
            if (AgentUsers.ClosedToOthers(path, run) is { } closed)
                return $"the agent runs as a user of its own, who cannot reach {path}: {closed} is closed to other users";
        return null;
    }

    /// <summary>How the agent sees its paths: (state dir, shared dir, socket).</summary>
    private protected abstract (string StateDir, string SharedDir, string Socket) InsideView(LaunchSpec spec);

    /// <summary>How the agent sees its work dir (<see cref="HivePaths.AgentWorkDir"/>): its ticket's worktree, when it holds one.</summary>
    private protected abstract string InsideWorkDir(LaunchSpec spec);

    /// <summary>
    /// The program and arguments that run <paramref name="launch"/>'s command under this driver (its command already behind
    /// <c>hivectl port</c> when its model calls go through the gateway; a sandbox shows the gateway's socket at
    /// <see cref="AgentGateway.InsideSocket"/>).
    /// </summary>
    private protected abstract IReadOnlyList<string> Wrap(Launch launch);

    /// <summary>
    /// One run as the driver builds it: the resolved program and mounts, the agent's cgroup directories (colon-separated,
    /// the membership one first; null without one), and its own
    /// uid and gid outside (null when it runs as the host's user), with what its stage is given (<see cref="AgentStage.Staging.None"/> unstaged).
    /// </summary>
    /// <para>
    /// <paramref name="Tty"/>: a terminal's run (<see cref="StartTerminalAsync"/>): the wrapper first opens this pty slave as
    /// its stdin, stdout and stderr and makes it the controlling terminal of a new session (<see cref="AgentWrapperShell.TtyPrefix"/>), and
    /// the command is an interactive shell.
    /// </para>
    /// <para><paramref name="GatewaySocket"/>: the host's path of the agent's gateway's socket, when its calls go through it.</para>
    /// <para><paramref name="EgressSocket"/>: the host's path of a sealed agent's egress proxy's socket, when it has one.</para>
    /// <para><paramref name="ForgeSocket"/>: the host's path of a sealed agent's door to the forge, when the hive has a forge.</para>
    private protected sealed record Launch(
        LaunchSpec Spec, string Program, IReadOnlyList<string> Mounts, string? Cgroup, uint? Uid, uint Gid, string DataDir, AgentStage.Staging Stage,
        string? Tty = null, string? GatewaySocket = null, string? EgressSocket = null, string? ForgeSocket = null);

    /// <summary>Nothing to adopt: these agents die with the host that started them.</summary>
    public Task<RunningAgent?> AdoptAsync(LaunchSpec spec, CancellationToken cancellationToken) => Task.FromResult<RunningAgent?>(null);

    /// <summary>Nothing to remove: the process is gone once stopped, and the state dir stays as the tombstone.</summary>
    public Task DestroyAsync(LaunchSpec spec, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<RunningAgent> StartAsync(LaunchSpec spec, CancellationToken cancellationToken)
    {
        if (Unavailable is { } why) throw new DriverException(why);
        // The agent's own PATH first, then hivectl, then the host's: a configured PATH is honoured, never dropped.
        var configuredPath = spec.Env.TryGetValue("PATH", out var own) && own.Length > 0 ? own + ":" : "";
        var (program, problem) = AgentPrograms.Resolve(Tools, spec.Command[0], configuredPath);
        if (program is null) throw new DriverException(problem!);
        var mounts = ResolveMounts(spec);
        var gateway = AgentGateway.Of(_services.Gateways, spec.Name, spec.Provider, spec.Env.Keys);
        var viaGateway = gateway is { Metered: true } ? gateway.Access : null;
        if (viaGateway is not null && !File.Exists(viaGateway.Socket))
            throw new DriverException($"the gateway's socket for {spec.Name} ({viaGateway.Socket}) is not there: its model calls would have nowhere to go");
        var access = EgressOf(spec);
        var egress = access?.Socket;
        if (egress is not null && !File.Exists(egress))
            throw new DriverException($"the egress proxy's socket for {spec.Name} ({egress}) is not there");
        var forge = access?.Forge;
        if (forge is not null && !File.Exists(forge.Socket))
            throw new DriverException($"the forge door's socket for {spec.Name} ({forge.Socket}) is not there");
        var staged = Users.OwnUids && Users.Unavailable is null;
        if (spec.Sealed && CannotSeal(staged) is { } unsealable) throw new DriverException($"{spec.Name} is sealed, but {unsealable}");
        Users.PrepareWorkDirs(spec.Name);
        uint? uid = null;
        var stage = AgentStage.Staging.None;
        IReadOnlyList<string> sockets = new[] { viaGateway?.Socket, egress, forge?.Socket }.OfType<string>().ToList();
        if (staged)
        {
            uid = Users.UidOf(spec.Slot);
            await Users.PrepareAsync(spec, uid.Value, sockets);
            stage = Users.Stage.Prepare(spec.Name, sockets);
        }
        var home = HomeRules.Of(spec.Env);
        if (home is not null) HomeRules.Ensure(spec.StateDir, home, uid, Users.Gid);

        // Behind the port: hivectl runs, and runs the agent's program (as the agent sees it) as its child.
        var (runs, run) = (program, spec);
        if (viaGateway is not null || egress is not null)
        {
            if (!Tools.Ensure()) throw new DriverException(AgentTools.Missing ?? "the hive's tools are missing");
            runs = Path.Combine(Tools.HostDir, "bin", AgentPrograms.HivectlName);
            var gatewayInside = viaGateway is null ? null : Sandboxed ? AgentGateway.InsideSocket(spec.Name) : viaGateway.Socket;
            var egressInside = egress is null ? null : Sandboxed ? AgentGateway.InsideEgressSocket(spec.Name) : egress;
            var forgeInside = forge is null ? null : forge with { Socket = Sandboxed ? AgentGateway.InsideForgeSocket(spec.Name) : forge.Socket };
            run = spec with { Command = AgentGateway.PortCommand(viaGateway, gatewayInside, egressInside, forgeInside, AgentPrograms.Inside(Tools, Sandboxed, program), spec.Command.Skip(1)) };
        }

        cancellationToken.ThrowIfCancellationRequested(); // the last point where giving up leaves nothing to undo
        var cgroup = _services.Cgroups.Create(spec.Name, spec.Limits ?? ResourceLimits.Resolve(Options.Limits, null));
        var argv = Wrap(new Launch(run, runs, mounts, cgroup?.JoinList, uid, Users.Gid, _services.Paths.DataDir, stage,
            GatewaySocket: viaGateway?.Socket, EgressSocket: egress, ForgeSocket: forge?.Socket));
        var info = new ProcessStartInfo(argv[0])
        {
            WorkingDirectory = uid is null ? spec.StateDir : "/",
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in argv.Skip(1)) info.ArgumentList.Add(arg);
        SetEnvironment(info, spec, configuredPath, home);
        // The placeholder, never a real key: the gateway adds that upstream. The base URL is the port's to give.
        if (viaGateway is not null) info.Environment[viaGateway.KeyVariable] = viaGateway.PlaceholderKey;

        var log = new AgentLog(spec.LogDir, Options.LogBytes);
        // The program, not its arguments: an argument may be a secret.
        await log.NoteAsync($"starting under {Name}{(uid is null ? "" : $" as uid {uid}")}{(spec.Sealed ? ", sealed" : "")}: {program}{AgentGateway.NoteOf(gateway)}"
            + (egress is null ? "" : forge is null ? " (its egress proxy on its port)" : " (its egress proxy and its forge door on its port)"));
        Process process;
        try
        {
            // Not cancellable: the launch is queued already, and a start its caller gave up on would leave the process
            // running with no owner and its cgroup behind. A launch takes milliseconds; once done, the agent is the caller's.
            process = await _services.Launcher.StartAsync(info);
        }
        catch (Exception e)
        {
            await log.NoteAsync($"could not start: {e.Message}");
            await log.DisposeAsync();
            if (cgroup is not null) await _services.Cgroups.KillAndRemoveAsync(cgroup);
            throw new DriverException($"{Name} could not start {argv[0]}: {e.Message}", e);
        }
        return new ProcessGroupAgent(process, log, _services.Clock, cgroup is null ? null : (_services.Cgroups, cgroup), LeaderTakesStop);
    }

    /// <summary>The agent's mounts resolved now, not when configured: a link re-pointed since (or a meta file edited by hand) is judged as it is.</summary>
    private List<string> ResolveMounts(LaunchSpec spec)
    {
        var mounts = new List<string>();
        foreach (var mount in spec.Mounts)
        {
            var (resolved, refused) = MountRules.Check(mount, _services.Paths);
            mounts.Add(resolved ?? throw new DriverException(refused!));
        }
        return mounts;
    }

    /// <summary>A sealed agent's egress proxy (and its forge door), when the hive has one for it; an open agent has its network.</summary>
    private AgentEgressAccess? EgressOf(LaunchSpec spec) => spec.Sealed ? _services.Egress.For(spec.Name) : null;

    /// <summary>A clean environment: the hive's variables and the agent's own, nothing else of the host's.</summary>
    private void SetEnvironment(ProcessStartInfo info, LaunchSpec spec, string configuredPath, string? home)
    {
        info.Environment.Clear();
        var (stateDir, sharedDir, socket) = InsideView(spec);
        foreach (var (key, value) in spec.Env) info.Environment[key] = value;
        info.Environment["HIVE_AGENT"] = spec.Name;
        info.Environment["HIVE_SOCKET"] = socket;
        info.Environment["HIVE_STATE_DIR"] = stateDir;
        info.Environment["HIVE_SHARED_DIR"] = sharedDir;
        info.Environment["HIVE_WORK_DIR"] = InsideWorkDir(spec);
        info.Environment["PATH"] = configuredPath + Tools.BinFor(Sandboxed) + ":" + AgentPrograms.AgentPath;
        info.Environment["HOME"] = home is null ? stateDir : $"{stateDir}/{home}";
        info.Environment["LANG"] = spec.Env.TryGetValue("LANG", out var lang) ? lang : "C.UTF-8";
    }

    /// <summary>
    /// An interactive shell in the running agent's sandbox, on the pty <paramref name="tty"/>: the same wrapper as the agent
    /// (its uid, its staged paths or bwrap mounts, its clean environment, with <c>TERM</c> added), in the agent's state dir,
    /// and inside a cgroup of its own beneath the agent's when the agent has one (<see cref="AgentCgroups.CreateTerminal"/>):
    /// the agent's caps hold, stopping the agent kills the shell with everything else in there, and ending the terminal
    /// kills everything it started, a job that left its session included. Bash where the system has it, else <c>sh</c>.
    /// The shell's pid is the id of the terminal's session. The agent's start already prepared its user and home.
    /// </summary>
    internal async Task<TerminalProcess> StartTerminalAsync(LaunchSpec spec, string tty, CancellationToken cancellationToken)
    {
        if (Unavailable is { } why) throw new DriverException(why);
        var configuredPath = spec.Env.TryGetValue("PATH", out var own) && own.Length > 0 ? own + ":" : "";
        var shell = File.Exists("/bin/bash") ? "/bin/bash" : "/bin/sh";
        var mounts = ResolveMounts(spec);
        var staged = Users.OwnUids && Users.Unavailable is null;
        if (spec.Sealed && CannotSeal(staged) is { } unsealable) throw new DriverException($"{spec.Name} is sealed, but {unsealable}");
        Users.PrepareWorkDirs(spec.Name);
        uint? uid = staged ? Users.UidOf(spec.Slot) : null;
        // A terminal has no port (nor the gateway's variables): only the stage stays as the agent's start wrote it. A sealed
        // agent's terminal is sealed as the agent is, in a network namespace of its own.
        var gateway = AgentGateway.Of(_services.Gateways, spec.Name, spec.Provider, spec.Env.Keys);
        var gatewaySocket = gateway is { Metered: true } && File.Exists(gateway.Access.Socket) ? gateway.Access.Socket : null;
        var access = EgressOf(spec);
        var egress = access?.Socket is { } proxy && File.Exists(proxy) ? proxy : null;
        var forge = egress is not null && access?.Forge?.Socket is { } door && File.Exists(door) ? door : null;
        var stage = uid is null ? AgentStage.Staging.None : Users.Stage.Prepare(spec.Name, new[] { gatewaySocket, egress, forge }.OfType<string>().ToList());
        cancellationToken.ThrowIfCancellationRequested();
        var cgroup = _services.Cgroups.CreateTerminal(spec.Name);
        var argv = Wrap(new Launch(spec with { Command = [shell, "-i"] }, shell, mounts, cgroup?.JoinList, uid, Users.Gid, _services.Paths.DataDir,
            stage, tty));
        var info = new ProcessStartInfo(argv[0]) { WorkingDirectory = uid is null ? spec.StateDir : "/", UseShellExecute = false };
        foreach (var arg in argv.Skip(1)) info.ArgumentList.Add(arg);
        SetEnvironment(info, spec, configuredPath, HomeRules.Of(spec.Env));
        info.Environment["TERM"] = "xterm-256color";
        try
        {
            return new TerminalProcess(await _services.Launcher.StartAsync(info), _services.Cgroups, cgroup); // not cancellable, as an agent's start
        }
        catch (Exception e)
        {
            if (cgroup is not null) await _services.Cgroups.KillAndRemoveAsync(cgroup);
            throw new DriverException($"{Name} could not start a terminal: {e.Message}", e);
        }
    }
}

/// <summary>A terminal's shell, and the cgroup that holds everything it starts (null where the agent has none).</summary>
internal sealed class TerminalProcess(Process shell, AgentCgroups cgroups, TerminalCgroup? cgroup) : IDisposable
{
    private const int SessionRounds = 50;

    public Process Shell { get; } = shell;

    /// <summary>
    /// SIGKILL to the terminal's whole session (its shell, its jobs, their children), then waits for the shell; then
    /// everything left in its cgroup (a job that <c>setsid</c>ed away) is killed and the cgroup removed.
    /// </summary>
    public Task EndAsync() => _ended ??= EndOnceAsync();

    private Task? _ended;

    private async Task EndOnceAsync()
    {
        ProcessGroups.SignalSession(Shell.Id, ProcessGroups.SigKill);
        await Shell.WaitForExitAsync();
        // A job that forked while the list was read: again until none is left (by session only: the session's id cannot
        // be taken by another process while any member lives).
        for (var round = 0; round < SessionRounds && ProcessGroups.SignalSession(Shell.Id, ProcessGroups.SigKill, descendants: false); round++)
            await Task.Delay(round < 10 ? 1 : 10);
        if (cgroup is not null) await cgroups.KillAndRemoveAsync(cgroup);
    }

    public void Dispose() => Shell.Dispose();
}
