using Hive.Features.Containers.Drivers;
using Hive.Features.Messages;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>The supervisor's crash watch and the restart policy it applies.</summary>
public sealed partial class Supervisor
{
    /// <summary>The crash watch: waits for the process to end; if nobody asked it to, that is a crash.</summary>
    private async Task WatchAsync(string name, Slot slot, RunningAgent running)
    {
        var exit = await running.Exited;
        // An action that stops a process lets go of it first (StopProcessAsync), so an expected exit never takes the turn:
        // taken even briefly, it would answer a start arriving right after the stop with "busy".
        if (_hostStopping || slot.Running != running) return;
        await slot.Turn.WaitAsync();
        try
        {
            if (slot.Running != running || _hostStopping) return; // an action stopped it, or a newer process replaced it
            slot.Running = null;
            await RecordCrashAsync(name, slot, exit);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "containers: recording the exit of {Agent} failed", name);
        }
        finally
        {
            slot.Turn.Release();
        }
    }

    private async Task RecordCrashAsync(string name, Slot slot, AgentExit exit)
    {
        var options = _options.Value;
        var now = _clock.GetUtcNow();
        slot.RestartTimes.RemoveAll(t => now - t > TimeSpan.FromMinutes(options.RestartWindowMinutes));
        TimeSpan? restartIn = null;
        await ChangeAsync(async (change, mediator) =>
        {
            var record = _registry.Find(name);
            if (record is null) return 0;
            var how = exit.Signal is { } signal ? $"killed by signal {signal}" : exit.Code is { } code ? $"exit code {code}" : "its container stopped";
            string state, next;
            if (record.Desired != DesiredStates.Running)
            {
                (state, next) = (States.Stopped, "it was not meant to run");
            }
            else if (record.RestartPolicy == RestartPolicies.Never)
            {
                (state, next) = (States.Crashed, "restart policy never: start it by hand");
            }
            else if (slot.RestartTimes.Count >= options.MaxRestarts)
            {
                (state, next) = (States.Failed,
                    $"failed: {slot.RestartTimes.Count} restarts in {options.RestartWindowMinutes:0.##} minutes; start it by hand");
            }
            else
            {
                restartIn = TimeSpan.FromSeconds(Math.Min(options.MaxRestartBackoffSeconds,
                    options.RestartBackoffSeconds * Math.Pow(2, slot.RestartTimes.Count)));
                (state, next) = (States.Crashed, $"restarting in {restartIn.Value.TotalSeconds:0.###} s");
            }
            change.Execute("""
                UPDATE agents SET state = @state, pid = NULL, last_exit_code = @Code, last_exit_signal = @Signal, last_exit_at = @At
                WHERE name = @name
                """, new { name, state, exit.Code, exit.Signal, exit.At });
            await mediator.Send(new ReleaseInFlightMessages.Command(name), CancellationToken.None);
            if (record.Desired == DesiredStates.Running)
                await TellManagerAsync(mediator, "crash watch", "container_crash", $"{name} crashed ({how}); {next}",
                    new Dictionary<string, object?> { ["agent"] = name, ["exit_code"] = exit.Code, ["signal"] = exit.Signal, ["state"] = state });
            await RaiseRowAsync(change, name);
            return 0;
        }, CancellationToken.None);
        _logger.LogWarning("containers: {Agent} exited ({Code}/{Signal}){Next}", name, exit.Code, exit.Signal,
            restartIn is { } delay ? $"; restarting in {delay.TotalSeconds:0.###} s" : "");
        if (restartIn is { } wait) slot.ScheduleRestart(token => RestartLaterAsync(name, slot, wait, token));
    }

    /// <summary>The restart policy's restart, after its backoff, unless the operator acted meanwhile.</summary>
    private async Task RestartLaterAsync(string name, Slot slot, TimeSpan delay, CancellationToken token)
    {
        try
        {
            await Task.Delay(delay, _clock, token);
            await slot.Turn.WaitAsync(token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            if (token.IsCancellationRequested || _hostStopping || slot.Running is not null) return;
            if (_registry.Find(name) is not { Desired: DesiredStates.Running } record || record.IsExternal) return;
            slot.RestartTimes.Add(_clock.GetUtcNow());
            _logger.LogInformation("containers: restarting {Agent} (restart policy: {Count} in {Minutes} minutes)", name, slot.RestartTimes.Count,
                _options.Value.RestartWindowMinutes);
            await using (await HoldTransientAsync(name, Transients.Restarting))
            {
                await RecordAsync(name, "UPDATE agents SET restarts = restarts + 1 WHERE name = @name", new { name });
                await StartProcessAsync(name, slot, CancellationToken.None);
            }
        }
        catch (Exception e)
        {
            _logger.LogError("containers: restarting {Agent} failed: {Reason}", name, e.Message);
        }
        finally
        {
            slot.Turn.Release();
        }
    }
}
