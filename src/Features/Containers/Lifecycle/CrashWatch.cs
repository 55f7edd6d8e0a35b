using Hive.Features.Containers.Runtime;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// Notices each agent's exit the moment it happens (the driver's exit task, fed by the runtime's SIGCHLD handling: no
/// poll). An exit nobody asked for is a crash: recorded with how it ended, the agent's taken messages released, the
/// manager told, and the <see cref="RestartPolicy"/> applied, a restart waiting out its backoff unless the operator acts.
/// </summary>
internal sealed class CrashWatch(
    AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, StateChanges changes, IServiceScopeFactory scopes,
    IOptions<ContainersOptions> options, TimeProvider clock, IWorkHolds holds, ContainersMetrics metrics, ILogger<CrashWatch> logger)
{
    /// <summary>Watches <paramref name="running"/> until it ends.</summary>
    public void Watch(string name, AgentHold hold, RunningAgent running) => _ = WatchAsync(name, hold, running);

    private async Task WatchAsync(string name, AgentHold hold, RunningAgent running)
    {
        var exit = await running.Exited;
        // An action that stops a process lets go of it first (AgentProcesses.StopAsync), so an expected exit never takes the
        // turn: taken even briefly, it would answer a start arriving right after the stop with "busy".
        if (turns.HostStopping || hold.Running != running) return;
        using var turn = await turns.WaitAsync(name);
        try
        {
            if (hold.Running != running || turns.HostStopping) return; // an action stopped it, or a newer process replaced it
            hold.Running = null;
            metrics.Crashed(name, exit);
            await RecordCrashAsync(name, hold, exit);
        }
        catch (Exception e)
        {
            logger.LogError(e, "containers: recording the exit of {Agent} failed", name);
        }
    }

    private async Task RecordCrashAsync(string name, AgentHold hold, AgentExit exit)
    {
        var restarts = RestartPolicy.PruneWindow(hold.RestartTimes, clock.GetUtcNow(), options.Value);
        TimeSpan? restartIn = null;
        await changes.RunAsync(scopes, async (change, scope) =>
        {
            if (registry.Find(name) is not { } record) return;
            var how = exit.Reason == ExitReasons.Oom
                ? $"killed: out of memory (limit {ResourceLimits.Resolve(options.Value.Limits, record.OwnLimits).MemoryMib} MiB)"
                : exit.Signal is { } signal ? $"killed by signal {signal}" : exit.Code is { } code ? $"exit code {code}" : "its container stopped";
            var decision = RestartPolicy.Decide(record, restarts, options.Value);
            restartIn = decision.RestartIn;
            change.Execute("""
                UPDATE agents SET state = @State, pid = NULL, last_exit_code = @Code, last_exit_signal = @Signal, last_exit_at = @At,
                    last_exit_reason = @Reason
                WHERE name = @name
                """, new { name, decision.State, exit.Code, exit.Signal, exit.At, exit.Reason });
            var mediator = scope.GetRequiredService<IMediator>();
            await mediator.Send(new ReleaseInFlightMessages.Command(name), CancellationToken.None);
            if (record.Desired == DesiredStates.Running)
                await AgentSteps.TellManagerAsync(mediator, "crash watch", "container_crash", $"{name} crashed ({how}); {decision.Next}",
                    new Dictionary<string, object?>
                    {
                        ["agent"] = name, ["exit_code"] = exit.Code, ["signal"] = exit.Signal, ["state"] = decision.State,
                        ["reason"] = exit.Reason
                    });
            if (decision.State == States.Failed) await mediator.Send(new AgentFailed(name, how, exit.At), CancellationToken.None);
            await steps.RaiseRowAsync(change, name);
        }, CancellationToken.None);
        logger.LogWarning("containers: {Agent} exited ({Code}/{Signal}){Next}", name, exit.Code, exit.Signal,
            restartIn is { } delay ? $"; restarting in {delay.TotalSeconds:0.###} s" : "");
        if (restartIn is { } wait) hold.ScheduleRestart(token => RestartLaterAsync(name, hold, wait, token));
    }

    /// <summary>The restart policy's restart, after its backoff, unless the operator acted meanwhile.</summary>
    private async Task RestartLaterAsync(string name, AgentHold hold, TimeSpan delay, CancellationToken token)
    {
        AgentTurn turn;
        try
        {
            await Task.Delay(delay, clock, token);
            await holds.WhenFreeAsync(name, token); // no restart by policy while the hive is halted or the agent paused
            turn = await turns.WaitAsync(name, token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        using (turn)
        {
            try
            {
                if (token.IsCancellationRequested || turns.HostStopping || hold.Running is not null) return;
                if (registry.Find(name) is not { Desired: DesiredStates.Running } record || record.IsExternal) return;
                hold.RestartTimes.Add(clock.GetUtcNow());
                logger.LogInformation("containers: restarting {Agent} (restart policy: {Count} in {Minutes} minutes)", name, hold.RestartTimes.Count,
                    options.Value.RestartWindowMinutes);
                await using (await steps.HoldTransientAsync(name, Transients.Restarting))
                {
                    await steps.RecordAsync(name, "UPDATE agents SET restarts = restarts + 1 WHERE name = @name", new { name });
                    await processes.StartAsync(name, hold, CancellationToken.None);
                }
            }
            catch (Exception e)
            {
                logger.LogError("containers: restarting {Agent} failed: {Reason}", name, e.Message);
            }
        }
    }
}
