using Dapper;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Changes;
using Hive.Shared.Processes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// The agents at the host's start and stop. At start it makes the registry true again after the last life, however that
/// ended: approved destroys and deploys it did not finish are finished, a meta file that moved on is applied, a process of
/// that life still alive is killed with its group, stored transients are cleared, and every agent desired running is
/// started (or adopted, for a driver whose containers outlive the host), once. At stop every agent process is stopped (they
/// start again with the host; the registry keeps what was desired).
/// </summary>
internal sealed class AgentsStartUp(
    AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, DriverCatalog drivers, MetaRepo meta, MetaProposals proposals,
    ConfigProblems problems, AgentCgroups cgroups, AgentTools tools, StateChanges changes, IServiceScopeFactory scopes, IOptions<ContainersOptions> options,
    TimeProvider clock, ILogger<AgentsStartUp> logger) : BackgroundService
{
    private readonly TaskCompletionSource _reconciled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the start-up reconciliation has run (tests and the bench wait on it).</summary>
    public Task Reconciled => _reconciled.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReconcileAsync(stoppingToken);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(e, "containers: reconciling the registry at start-up failed");
        }
        finally
        {
            _reconciled.TrySetResult();
        }
    }

    private async Task ReconcileAsync(CancellationToken ct)
    {
        _ = drivers.Default; // what "auto" means here is said once, at start-up, not at the first spawn
        tools.WarnIfMissing(); // and so is a host with no hivectl to give its agents
        await using var scope = scopes.CreateAsyncScope();
        var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
        // An approved destroy whose host died before it was done is done now (the approval says approved: so it must be).
        foreach (var (id, name, requester) in registry.ApprovedDestroysNotApplied())
            await mediator.Send(new DestroyAgent.Approved(name, requester, id), ct);
        await ImportAndApplyMetaFilesAsync();
        // What left its group in the last life, and so outlived it (the host was killed): a process-driver agent's cgroup holds it.
        await cgroups.SweepLeftoversAsync();
        foreach (var record in registry.All())
        {
            if (record is { Pid: { } pid, PidStartTicks: { } ticks } && ProcessGroups.StartTicks((int)pid) == ticks)
            {
                logger.LogWarning("containers: a process of {Agent} from the host's last life is still alive (pid {Pid}): killing its group", record.Name, pid);
                ProcessGroups.SignalGroup((int)pid, ProcessGroups.SigKill);
                ProcessGroups.Signal((int)pid, ProcessGroups.SigKill);
            }
            var state = record.IsExternal ? States.Running : record.State == States.Failed ? States.Failed : States.Stopped;
            if (record.Transient is not null || record.Pid is not null || record.State != state)
                await steps.RecordAsync(record.Name, "UPDATE agents SET transient = NULL, pid = NULL, pid_start_ticks = NULL, state = @state WHERE name = @name",
                    new { name = record.Name, state });
        }
        await FinishDeploysAsync(mediator, ct);
        var toStart = registry.All().Where(r => !r.IsExternal && r.Desired == DesiredStates.Running && r.State != States.Failed).ToList();
        // A container that outlived the host but is not meant to run is stopped.
        foreach (var record in registry.All().Where(r => !r.IsExternal && !toStart.Any(t => t.Name == r.Name)))
        {
            try
            {
                if (await processes.DriverOf(record).AdoptAsync(processes.SpecOf(record), ct) is { } stray) await stray.StopAsync(options.Value.StopGrace);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError("containers: stopping {Agent}'s leftover container failed: {Reason}", record.Name, e.Message);
            }
        }
        foreach (var record in toStart)
        {
            if (ct.IsCancellationRequested) return;
            using var turn = await turns.WaitAsync(record.Name, ct);
            try
            {
                if (turn.Agent.Running is not null) continue; // a deploy finished above started it already
                await using (await steps.HoldTransientAsync(record.Name, Transients.Starting))
                {
                    // A driver whose containers outlive the host hands back the one still running: adopted, not started twice.
                    if (await processes.DriverOf(record).AdoptAsync(processes.SpecOf(record), ct) is { } adopted)
                        await processes.RecordRunningAsync(record.Name, turn.Agent, adopted, Transients.Starting);
                    else
                        await processes.StartAsync(record.Name, turn.Agent, ct, Transients.Starting);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError("containers: {Agent} did not start at start-up: {Reason}", record.Name, e.Message);
            }
        }
    }

    /// <summary>
    /// The meta repo holds every managed agent's file: an agent it lacks (a registry older than the repo) is imported; a
    /// file that moved on while the host was down (hyperhive's auto-update) is what the agent starts on.
    /// </summary>
    private async Task ImportAndApplyMetaFilesAsync()
    {
        foreach (var record in registry.All().Where(r => !r.IsExternal))
        {
            try
            {
                var file = await meta.ReadAgentAsync(record.Name);
                if (file is null)
                    await steps.RecordInMetaAsync(record.Name, record.ToConfig(), $"{record.Name}: imported from the registry");
                else if (AgentFile.Serialize(file) != AgentFile.Serialize(record.ToConfig()))
                {
                    logger.LogInformation("containers: {Agent}'s meta file is newer than what it ran: it starts on the file", record.Name);
                    await steps.ApplyConfigAsync(record.Name, file with { Driver = file.Driver ?? record.Driver });
                }
            }
            catch (MetaFileException e)
            {
                problems.Set(record.Name, e.Message);
                logger.LogWarning("meta: {Agent}: {Reason}; it runs as the registry has it", record.Name, e.Message);
            }
        }
    }

    /// <summary>
    /// Approved configuration changes the last life did not see to the end (no <c>applied_at</c>) are finished, in the order
    /// they were approved, so every approval ends <c>applied</c> with the ref of what really happened. Where the last life
    /// died decides how much is left: a fate ref written (<c>deployed</c>/<c>failed</c>) → only <c>applied_at</c> and the
    /// requester's message; otherwise the deploy runs again from the top (<see cref="DeployProposal"/>), which is safe at
    /// every point. Runs after the last life's processes are gone and before the agents are started, so it starts its agent once.
    /// </summary>
    private async Task FinishDeploysAsync(IMediator mediator, CancellationToken ct)
    {
        var unfinished = registry.Read((connection, transaction) => connection.Query<ApprovalRow>($"""
            SELECT {ApprovalRow.Columns} FROM approvals
            WHERE kind = 'config_commit' AND status = 'approved' AND applied_at IS NULL
            ORDER BY id
            """, transaction: transaction).ToList());
        foreach (var row in unfinished)
        {
            try
            {
                logger.LogWarning("containers: the deploy of approval {Id} ({Agent}) was cut short by the host's end: finishing it", row.Id, row.Agent);
                if (await proposals.FateOfAsync(row.Id) is var (fate, message))
                    await DeployProposal.RecordDeployedAsync(changes, scopes, clock, row.Agent, row.Requester, row.Id,
                        fate == "deployed" ? null : message.StartsWith("failed: ", StringComparison.Ordinal) ? message[8..] : message);
                else
                    await mediator.Send(new DeployProposal.Command(row.Agent, row.Requester, row.Id, row.BaseCommit), ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError("containers: finishing the deploy of approval {Id} ({Agent}) failed: {Reason}", row.Id, row.Agent, e.Message);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        turns.HostIsStopping();
        await base.StopAsync(cancellationToken);
        var grace = options.Value.StopGrace;
        await Task.WhenAll(turns.All().Select(async pair =>
        {
            pair.Value.CancelPendingRestart();
            // Containers that outlive the host (nixos-container) keep running: the next host adopts them.
            if (registry.Find(pair.Key) is { } record && drivers.Find(record.Driver) is { OutlivesHost: true }) return;
            if (pair.Value.Running is { } running) await running.StopAsync(grace);
        }));
    }
}
