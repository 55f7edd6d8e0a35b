using System.Diagnostics;
using Hive.Shared.Processes;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// A started agent: its process group (led by the driver's supervisor, whose pid is the group's id), its log pumps, and
/// <see cref="Exited"/>, which completes when the process ends, noticed by the runtime's SIGCHLD handling, not a poll.
/// Once the leader has gone, whatever is left of the group is killed, and of the agent's cgroup when it has one: nothing of
/// an agent outlives it.
/// </summary>
public sealed class ProcessGroupAgent : RunningAgent
{
    private readonly Process _process;
    private readonly TimeProvider _clock;
    private readonly (AgentCgroups Cgroups, AgentCgroup Cgroup)? _cgroup;
    private readonly bool _leaderTakesStop;
    private readonly TaskCompletionSource _logFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal ProcessGroupAgent(Process process, AgentLog log, TimeProvider clock, (AgentCgroups, AgentCgroup)? cgroup = null, bool leaderTakesStop = false)
    {
        _process = process;
        _clock = clock;
        _cgroup = cgroup;
        _leaderTakesStop = leaderTakesStop;
        Pid = process.Id;
        StartTicks = ProcessGroups.StartTicks(Pid) ?? 0;
        StartedAt = clock.GetUtcNow();
        // No input: an agent reading stdin sees its end instead of the host's terminal.
        process.StandardInput.Close();
        var pumps = Task.WhenAll(log.PumpAsync(process.StandardOutput.BaseStream), log.PumpAsync(process.StandardError.BaseStream));
        Exited = WatchAsync(pumps, log);
    }

    /// <summary>The group leader's pid, which is also the process group's id.</summary>
    public override int Pid { get; }

    public override long StartTicks { get; }

    public override DateTimeOffset StartedAt { get; }

    public override Task<AgentExit> Exited { get; }

    /// <summary>
    /// Completes after <see cref="Exited"/>, once the log is whole: its pipes closed (every process that held them gone, or
    /// 30 s passed), the exit noted, the file closed. What reads the log after the exit waits for this.
    /// </summary>
    internal Task LogFinished => _logFinished.Task;

    /// <summary>SIGTERM to the agent's processes, SIGKILL to the whole group after <paramref name="grace"/>; returns once it has exited.</summary>
    public override async Task<AgentExit> StopAsync(TimeSpan grace)
    {
        if (!Exited.IsCompleted)
        {
            AskToEnd();
            try
            {
                await Exited.WaitAsync(grace, _clock);
            }
            catch (TimeoutException)
            {
                KillAll();
            }
        }
        return await Exited;
    }

    /// <summary>
    /// Stops several agents as one (a subtree): each asked to end as <see cref="StopAsync"/> asks, one grace period for
    /// all, then whatever is left is first halted (each cgroup frozen, each group and its descendants sent SIGSTOP) and only
    /// then killed, so none of them runs between the first kill and the last (nor brings another back). Returns once all
    /// have exited.
    /// </summary>
    internal static async Task StopTogetherAsync(IReadOnlyList<ProcessGroupAgent> agents, TimeSpan grace)
    {
        var live = agents.Where(a => !a.Exited.IsCompleted).ToList();
        if (live.Count == 0) return;
        foreach (var agent in live) agent.AskToEnd();
        try
        {
            await Task.WhenAll(live.Select(a => a.Exited)).WaitAsync(grace, live[0]._clock);
            return;
        }
        catch (TimeoutException)
        {
            // Some are still there after the grace period: they are ended below.
        }
        var left = live.Where(a => !a.Exited.IsCompleted).ToList();
        foreach (var agent in left) agent.Halt();
        foreach (var agent in left) agent.Kill();
        await Task.WhenAll(left.Select(a => a.Exited));
    }

    private void AskToEnd()
    {
        ProcessGroups.SignalMembers(Pid, ProcessGroups.SigTerm);
        // The process driver's supervisor ignores it once the agent runs, and ends on it while the agent is not there yet.
        if (_leaderTakesStop) ProcessGroups.Signal(Pid, ProcessGroups.SigTerm);
    }

    /// <summary>Nothing of the agent runs on: its cgroup frozen where the kernel can (v2), and SIGSTOP to its group and descendants.</summary>
    private void Halt()
    {
        _cgroup?.Cgroup.Freeze();
        ProcessGroups.SignalGroup(Pid, ProcessGroups.SigStop);
        ProcessGroups.SignalMembers(Pid, ProcessGroups.SigStop);
    }

    /// <summary>SIGKILL to everything of the agent: its cgroup (one write under v2), its group, its leader's descendants.</summary>
    private void Kill()
    {
        _cgroup?.Cgroup.Kill();
        ProcessGroups.SignalMembers(Pid, ProcessGroups.SigKill);
        KillAll();
    }

    /// <summary>SIGKILL to the group and its leader, at once.</summary>
    public void KillAll()
    {
        ProcessGroups.SignalGroup(Pid, ProcessGroups.SigKill);
        ProcessGroups.Signal(Pid, ProcessGroups.SigKill); // in case it had not made its own group yet
    }

    private async Task<AgentExit> WatchAsync(Task pumps, AgentLog log)
    {
        await _process.WaitForExitAsync();
        var at = _clock.GetUtcNow();
        var status = _process.ExitCode;
        // Leftovers of the group (an agent's children) go with it, and are gone before the exit is reported: "stopped" means
        // no process of the group is left (a sandbox's processes take a moment to die after bwrap itself).
        if (ProcessGroups.SignalGroup(Pid, ProcessGroups.SigKill))
            for (var waited = 0; waited < 400 && ProcessGroups.Members(Pid).Count > 0; waited++) await Task.Delay(5);
        // The runtime reports a death by signal as 128 + the signal, as the shell does (and bwrap for its sandbox's program).
        var exit = status > 128 && status < 128 + 65 ? new AgentExit(null, status - 128, at) : new AgentExit(status, null, at);
        // A SIGKILL with an OOM kill counted in its cgroup is the kernel's, at the memory cap (read before the cgroup goes).
        if (_cgroup is var (_, own) && exit.Signal == ProcessGroups.SigKill && own.OomKills() > 0) exit = exit with { Reason = ExitReasons.Oom };
        // And those that left the group (setsid, a daemon's double fork) but not the agent's cgroup.
        if (_cgroup is var (cgroups, cgroup)) await cgroups.KillAndRemoveAsync(cgroup);
        // The exit is reported now; the log is finished when its pipes close. A child that left the group and keeps
        // stdout open must not hold the crash watch (it held it 5 s when this waited for the pipes first).
        _ = FinishLogAsync(pumps, log, exit);
        return exit;
    }

    private async Task FinishLogAsync(Task pumps, AgentLog log, AgentExit exit)
    {
        try
        {
            try
            {
                await pumps.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                // Something outside the group still holds the pipes: the log stops here regardless.
            }
            await log.NoteAsync(exit.Signal is { } signal ? $"exited on signal {signal}" : $"exited with code {exit.Code}");
            await log.DisposeAsync();
            _process.Dispose();
        }
        finally
        {
            _logFinished.TrySetResult();
        }
    }
}
