using Hive.Features.Containers.Runtime;
using Hive.Features.Messages;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// The steps that start and stop an agent's process through its driver, each recorded with its event; a started process
/// is handed to the <see cref="CrashWatch"/>. Taken while holding the agent's turn.
/// </summary>
internal sealed class AgentProcesses(
    AgentRegistry registry, AgentSteps steps, StateChanges changes, IServiceScopeFactory scopes, DriverCatalog drivers, HivePaths paths,
    IOptions<ContainersOptions> options, ConfigProblems problems, SecretStore secrets, IServiceProvider services, ILogger<AgentProcesses> logger)
{
    /// <summary>
    /// Starts the agent's process as its registry row says; a start its driver refuses leaves the row <c>failed</c> (400).
    /// <paramref name="ending"/>: the transient this start ends, cleared with the row's <c>running</c> (one event, not two;
    /// the transient's guard then finds nothing left to clear).
    /// </summary>
    public async Task StartAsync(string name, AgentHold hold, CancellationToken ct, string? ending = null)
    {
        var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
        var driver = DriverOf(record);
        paths.EnsureAgentDirs(name);
        var spec = await WithSecretsAsync(SpecOf(record), record);
        RunningAgent running;
        try
        {
            running = await driver.StartAsync(spec, ct);
        }
        catch (DriverException e)
        {
            await RecordStartFailedAsync(name, e.Message);
            throw new BadRequestException($"{name} could not be started: {e.Message}");
        }
        await RecordRunningAsync(name, hold, running, ending);
    }

    /// <summary>A process is running for the agent (started now, or adopted at start-up): recorded, and watched.</summary>
    public async Task RecordRunningAsync(string name, AgentHold hold, RunningAgent running, string? ending = null)
    {
        hold.Running = running;
        await changes.RunAsync(scopes, async (change, scope) =>
        {
            change.Execute("""
                UPDATE agents SET state = @running, pid = @Pid, pid_start_ticks = @StartTicks, started_at = @StartedAt,
                                  transient = CASE WHEN transient = @ending THEN NULL ELSE transient END
                WHERE name = @name
                """, new { name, running = States.Running, running.Pid, running.StartTicks, running.StartedAt, ending });
            // What the agent's previous life took and never acknowledged is due again now, not after its ack timeout.
            await scope.GetRequiredService<IMediator>().Send(new ReleaseInFlightMessages.Command(name), CancellationToken.None);
            await steps.RaiseRowAsync(change, name);
        }, CancellationToken.None);
        logger.LogInformation("containers: {Agent} is running (pid {Pid})", name, running.Pid);
        services.GetRequiredService<CrashWatch>().Watch(name, hold, running);
    }

    /// <summary>Stops the agent's process if it has one and records how it ended (state <c>stopped</c>).</summary>
    public async Task StopAsync(string name, AgentHold hold)
    {
        var running = hold.Running;
        hold.Running = null; // the crash watch sees an exit it was not the first to know about
        AgentExit? exit = null;
        if (running is not null) exit = await running.StopAsync(options.Value.StopGrace);
        await RecordStoppedAsync(name, running, exit);
    }

    /// <summary>
    /// Stops several agents' processes as one, <paramref name="agents"/> in the order they are recorded (a subtree's,
    /// deepest first): the process drivers' runs together (<see cref="ProcessGroupAgent.StopTogetherAsync"/>), any other
    /// driver's one by one, in that order.
    /// </summary>
    public async Task StopTogetherAsync(IReadOnlyList<(string Name, AgentHold Hold)> agents)
    {
        var running = agents.Select(a => a.Hold.Running).ToList();
        foreach (var (_, hold) in agents) hold.Running = null;
        await ProcessGroupAgent.StopTogetherAsync(running.OfType<ProcessGroupAgent>().ToList(), options.Value.StopGrace);
        for (var i = 0; i < agents.Count; i++)
        {
            var exit = running[i] is { } run ? await (run is ProcessGroupAgent ? run.Exited : run.StopAsync(options.Value.StopGrace)) : null;
            await RecordStoppedAsync(agents[i].Name, running[i], exit);
        }
    }

    private async Task RecordStoppedAsync(string name, RunningAgent? running, AgentExit? exit)
    {
        await steps.RecordAsync(name, """
            UPDATE agents SET state = @stopped, pid = NULL,
                last_exit_code = coalesce(@Code, CASE WHEN @At IS NULL THEN last_exit_code END),
                last_exit_signal = coalesce(@Signal, CASE WHEN @At IS NULL THEN last_exit_signal END),
                last_exit_at = coalesce(@At, last_exit_at),
                last_exit_reason = CASE WHEN @At IS NULL THEN last_exit_reason ELSE @Reason END
            WHERE name = @name
            """, new { name, stopped = States.Stopped, exit?.Code, exit?.Signal, exit?.At, exit?.Reason });
        if (running is not null) logger.LogInformation("containers: {Agent} stopped ({Code}/{Signal})", name, exit?.Code, exit?.Signal);
    }

    public IContainerDriver DriverOf(AgentRecord record) =>
        drivers.Find(record.Driver) ?? throw new ConflictException($"{record.Name} needs the {record.Driver} driver, which this host does not have");

    public LaunchSpec SpecOf(AgentRecord record) => new(record.Name, record.Kind == AgentKinds.Manager, record.Argv, record.Env,
        record.Mounts, paths.AgentStateDir(record.Name), paths.SharedDir, paths.AgentSocket(record.Name), paths.AgentLogDir(record.Name),
        registry.SlotOf(record.Name), ResourceLimits.Resolve(options.Value.Limits, record.OwnLimits), record.Provider,
        record.Network);

    /// <summary>A start refused (by its driver, or for a missing secret): said once in the log, and the row is <c>failed</c>.</summary>
    private async Task RecordStartFailedAsync(string name, string reason)
    {
        logger.LogWarning("containers: {Agent} did not start: {Reason}", name, reason);
        await steps.RecordAsync(name, "UPDATE agents SET state = @failed, pid = NULL WHERE name = @name", new { name, failed = States.Failed });
    }

    /// <summary>
    /// The agent's secrets added to its environment, here and nowhere else (the spec goes to the driver only). A secret
    /// that does not exist refuses the start like a driver failure does (state <c>failed</c>, a 409 naming it) and is
    /// shown on the row as its <c>config_error</c> until a start succeeds.
    /// </summary>
    private async Task<LaunchSpec> WithSecretsAsync(LaunchSpec spec, AgentRecord record)
    {
        try
        {
            var env = secrets.ResolveFor(record.Name, spec.Env, record.Secrets);
            if (problems.Of(record.Name)?.StartsWith(SecretStore.MissingPrefix(record.Name), StringComparison.Ordinal) == true)
                problems.Set(record.Name, null); // the row goes out with the running state next
            return spec with { Env = env };
        }
        catch (ConflictException e)
        {
            problems.Set(record.Name, e.Message);
            await RecordStartFailedAsync(record.Name, e.Message);
            throw;
        }
    }
}
