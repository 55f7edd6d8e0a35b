using System.Text;
using System.Text.Json;
using Hive.Shared.Processes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// A started or adopted NixOS container. Its end is found by polling <c>status</c> every
/// <c>Hive:Containers:NixosContainer:PollSeconds</c>: nothing signals the host when a container stops. <see cref="Pid"/>
/// is 0 (the container's leader is not the host's child, and the supervisor must never signal it).
/// </summary>
public sealed class NixosContainerAgent : RunningAgent
{
    private readonly NixosContainerDriver _driver;
    private readonly string _container;
    private readonly string _logDir;
    private readonly TimeProvider _clock;
    private readonly TaskCompletionSource<AgentExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource _polling = new();
    private Task _poll;

    internal NixosContainerAgent(NixosContainerDriver driver, string container, string logDir, TimeProvider clock)
    {
        _driver = driver;
        _container = container;
        _logDir = logDir;
        _clock = clock;
        StartedAt = clock.GetUtcNow();
        _poll = PollAsync();
    }

    public override int Pid => 0;

    public override long StartTicks => 0;

    public override DateTimeOffset StartedAt { get; }

    public override Task<AgentExit> Exited => _exited.Task;

    /// <summary>
    /// <c>nixos-container stop</c> (systemd's own stop timeout applies: the command has no grace of ours). A stop that
    /// fails throws and leaves the container watched.
    /// </summary>
    public override async Task<AgentExit> StopAsync(TimeSpan grace)
    {
        if (_exited.Task.IsCompleted) return await _exited.Task;
        await _polling.CancelAsync();
        await _poll;
        try
        {
            await _driver.RunAsync(["stop", _container], CancellationToken.None);
        }
        catch (DriverException)
        {
            // Down (or gone) anyway is what was asked; still up, it stays watched and the failure goes to the operator.
            if (await _driver.StatusAsync(_container, CancellationToken.None) == "up")
            {
                _polling = new CancellationTokenSource();
                _poll = PollAsync();
                throw;
            }
        }
        await _driver.NoteAsync(_logDir, $"{_container} stopped");
        _exited.TrySetResult(new AgentExit(0, null, _clock.GetUtcNow()));
        return await _exited.Task;
    }

    /// <summary>Until the container is found not up: then it has ended (how, nixos-container does not say: no code, no signal).</summary>
    private async Task PollAsync()
    {
        var period = _driver.Options.PollPeriod;
        var token = _polling.Token;
        try
        {
            while (true)
            {
                await Task.Delay(period, _clock, token);
                string? status;
                try
                {
                    status = await _driver.StatusAsync(_container, token);
                }
                catch (DriverException)
                {
                    continue; // the command itself failed to run or timed out: ask again rather than call it a crash
                }
                if (status == "up") continue;
                await _driver.NoteAsync(_logDir, $"{_container} was found {status ?? "gone"} by the status poll");
                _exited.TrySetResult(new AgentExit(null, null, _clock.GetUtcNow()));
                return;
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }
}
