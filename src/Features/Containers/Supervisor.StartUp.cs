using Hive.Features.Containers.Drivers;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>The supervisor at the host's start (reconciling what the last life left) and at its stop.</summary>
public sealed partial class Supervisor
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReconcileAsync(stoppingToken);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            _logger.LogError(e, "containers: reconciling the registry at start-up failed");
        }
        finally
        {
            _reconciled.TrySetResult();
        }
    }

    /// <summary>
    /// Makes the registry true again after the last host's life, however it ended: a stored transient is cleared, a
    /// process of that life still alive (same pid and start time) is killed with its group, and every agent desired
    /// running is started, once.
    /// </summary>
    private async Task ReconcileAsync(CancellationToken ct)
    {
        _ = _drivers.Default; // what "auto" means here is said once, at start-up, not at the first spawn
        // An approved destroy whose host died before it was done is done now (the approval says approved: so it must be).
        foreach (var (id, name, requester) in _registry.ApprovedDestroysNotApplied())
        {
            var slot = _slots.GetOrAdd(name, _ => new Slot());
            await slot.Turn.WaitAsync(ct);
            try { await DestroyHoldingTurnAsync(name, requester, slot, id); }
            finally { slot.Turn.Release(); }
        }
        // The meta repo holds every managed agent's file: an agent it lacks (a registry older than the repo) is imported.
        foreach (var record in _registry.All().Where(r => !r.IsExternal))
        {
            try
            {
                var file = await _meta.ReadAgentAsync(record.Name);
                if (file is null)
                    await RecordInMetaAsync(record.Name, record.ToConfig(), $"{record.Name}: imported from the registry");
                else if (MetaRepo.Serialize(file) != MetaRepo.Serialize(record.ToConfig()))
                {
                    // The file moved on while the host was down (hyperhive's auto-update): the agent starts on it.
                    _logger.LogInformation("containers: {Agent}'s meta file is newer than what it ran: it starts on the file", record.Name);
                    await ApplyConfigAsync(record.Name, file with { Driver = file.Driver ?? record.Driver });
                }
            }
            catch (MetaFileException e)
            {
                _problems.Set(record.Name, e.Message);
                _logger.LogWarning("meta: {Agent}: {Reason}; it runs as the registry has it", record.Name, e.Message);
            }
        }
        // What left its group in the last life, and so outlived it (the host was killed): a process-driver agent's cgroup holds it.
        await _cgroups.SweepLeftoversAsync();
        foreach (var record in _registry.All())
        {
            if (record is { Pid: { } pid, PidStartTicks: { } ticks } && ProcessGroups.StartTicks((int)pid) == ticks)
            {
                _logger.LogWarning("containers: a process of {Agent} from the host's last life is still alive (pid {Pid}): killing its group", record.Name, pid);
                ProcessGroups.SignalGroup((int)pid, ProcessGroups.SigKill);
                ProcessGroups.Signal((int)pid, ProcessGroups.SigKill);
            }
            var state = record.IsExternal ? States.Running : record.State == States.Failed ? States.Failed : States.Stopped;
            if (record.Transient is not null || record.Pid is not null || record.State != state)
                await RecordAsync(record.Name, "UPDATE agents SET transient = NULL, pid = NULL, pid_start_ticks = NULL, state = @state WHERE name = @name",
                    new { name = record.Name, state });
        }
        await FinishDeploysAsync(ct);
        var toStart = _registry.All().Where(r => !r.IsExternal && r.Desired == DesiredStates.Running && r.State != States.Failed).ToList();
        // A container that outlived the host but is not meant to run is stopped.
        foreach (var record in _registry.All().Where(r => !r.IsExternal && !toStart.Any(t => t.Name == r.Name)))
        {
            try
            {
                if (await DriverOf(record).AdoptAsync(SpecOf(record), ct) is { } stray) await stray.StopAsync(_options.Value.StopGrace);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogError("containers: stopping {Agent}'s leftover container failed: {Reason}", record.Name, e.Message);
            }
        }
        foreach (var record in toStart)
        {
            if (ct.IsCancellationRequested) return;
            var slot = _slots.GetOrAdd(record.Name, _ => new Slot());
            await slot.Turn.WaitAsync(ct);
            try
            {
                if (slot.Running is not null) continue; // a deploy finished above started it already
                await using (await HoldTransientAsync(record.Name, Transients.Starting))
                {
                    // A driver whose containers outlive the host hands back the one still running: adopted, not started twice.
                    if (await DriverOf(record).AdoptAsync(SpecOf(record), ct) is { } adopted)
                        await RecordRunningAsync(record.Name, slot, adopted);
                    else
                        await StartProcessAsync(record.Name, slot, ct);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogError("containers: {Agent} did not start at start-up: {Reason}", record.Name, e.Message);
            }
            finally
            {
                slot.Turn.Release();
            }
        }
    }

    /// <summary>
    /// Approved configuration changes the last life did not see to the end (no <c>applied_at</c>) are finished, in the order
    /// they were approved, so every approval ends <c>applied</c> with the ref of what really happened. Where the last life
    /// died decides how much is left: a fate ref written (<c>deployed</c>/<c>failed</c>) → only <c>applied_at</c> and the
    /// requester's message; otherwise the deploy runs again from the top, which is safe at every point: <c>main</c> still on
    /// the base → committed now; already holding the proposed file (the earlier import loop may have set the registry from
    /// it) → not committed twice; moved on to something else → failed as stale. The agent is then started on <c>main</c>'s
    /// file: <c>deployed</c> if it starts, else its old configuration is back (registry and file) and it is <c>failed</c>.
    /// Runs after the last life's processes are gone and before the agents are started, so it starts its agent once.
    /// </summary>
    private async Task FinishDeploysAsync(CancellationToken ct)
    {
        var unfinished = await ChangeAsync((change, _) => Task.FromResult(change.Query<ApprovalRow>($"""
            SELECT {ApprovalRow.Columns} FROM approvals
            WHERE kind = 'config_commit' AND status = 'approved' AND applied_at IS NULL
            ORDER BY id
            """)), ct);
        foreach (var row in unfinished)
        {
            var slot = _slots.GetOrAdd(row.Agent, _ => new Slot());
            await slot.Turn.WaitAsync(ct);
            try
            {
                _logger.LogWarning("containers: the deploy of approval {Id} ({Agent}) was cut short by the host's end: finishing it", row.Id, row.Agent);
                if (await _meta.FateOfAsync(row.Id) is var (fate, message))
                    await RecordDeployedAsync(row.Agent, row.Requester, row.Id, fate == "deployed" ? null : message.StartsWith("failed: ", StringComparison.Ordinal) ? message[8..] : message);
                else
                    await DeployProposalHoldingTurnAsync(row.Agent, row.Requester, slot, row.Id, row.BaseCommit);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogError("containers: finishing the deploy of approval {Id} ({Agent}) failed: {Reason}", row.Id, row.Agent, e.Message);
            }
            finally
            {
                slot.Turn.Release();
            }
        }
    }

    /// <summary>The host is stopping: every agent process is stopped (they start again with the host); the registry keeps what was desired.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _hostStopping = true;
        await base.StopAsync(cancellationToken);
        var grace = _options.Value.StopGrace;
        await Task.WhenAll(_slots.Select(async pair =>
        {
            pair.Value.CancelPendingRestart();
            // Containers that outlive the host (nixos-container) keep running: the next host adopts them.
            if (_registry.Find(pair.Key) is { } record && _drivers.Find(record.Driver) is { OutlivesHost: true }) return;
            if (pair.Value.Running is { } running) await running.StopAsync(grace);
        }));
    }
}
