using System.Text.Json;
using Hive.Features.Containers.Drivers;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>The supervisor's deploys from the meta repo: an approved proposal, a rebuild from an agent's file.</summary>
public sealed partial class Supervisor
{
    /// <summary>
    /// An approved configuration change: its file goes on <c>main</c>, and exactly this agent is rebuilt (transient
    /// <c>rebuilding</c>: stopped, its registry row set from the file, started). A configuration that does not start
    /// leaves the agent and <c>main</c> as they were (and says so: <c>failed/&lt;id&gt;</c>, a message to the requester).
    /// </summary>
    internal void RebuildInBackground(string name, string requestedBy, long approvalId, string? baseCommit)
    {
        var deploy = InBackground(name, "the approved rebuild", slot => DeployProposalHoldingTurnAsync(name, requestedBy, slot, approvalId, baseCommit));
        _deploys[approvalId] = deploy;
        _ = deploy.ContinueWith(_ => _deploys.TryRemove(approvalId, out var _), TaskScheduler.Default);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, Task> _deploys = new();

    /// <summary>Completes when the deploy of the approved configuration <paramref name="approvalId"/> has ended (at once when none runs).</summary>
    internal Task DeployOf(long approvalId) => _deploys.TryGetValue(approvalId, out var deploy) ? deploy : Task.CompletedTask;

    /// <summary>
    /// The deploy, written to be run again from the top by the next start-up when a host died anywhere inside it (see
    /// <see cref="FinishDeploysAsync"/>): the commit is made only if <c>main</c> is still on the proposal's base (a deploy
    /// that got past it finds the file <c>Applied</c>), the agent is stopped, set from the file and started, and the
    /// outcome is recorded as a ref, then <c>applied_at</c> with the requester's message (one change). A file that moved
    /// on meanwhile (a hand edit, another deploy) is not overwritten: the deploy fails as stale.
    /// </summary>
    private async Task DeployProposalHoldingTurnAsync(string name, string requestedBy, Slot slot, long approvalId, string? baseCommit)
    {
        await _meta.PauseIfAskedAsync("approved", approvalId);
        var old = _registry.Find(name);
        string? failure = null;
        switch (old is null ? (MetaRepo.Standing?)null : await _meta.StandingOfAsync(approvalId, name, baseCommit))
        {
            case null:
                failure = AgentGoneReason;
                break;
            case MetaRepo.Standing.Stale:
                failure = ApproveApproval.StaleReason;
                break;
            case var standing:
                string? before = null;
                string after;
                var oldConfig = old!.ToConfig();
                if (standing == MetaRepo.Standing.OnBase)
                {
                    (before, after) = await _meta.ApplyProposalAsync(approvalId, name, $"{name}: proposal {approvalId} from the {requestedBy}, approved by the operator");
                }
                else
                {
                    // Committed in a life of the host that died: the start-up may have set the registry from the file already,
                    // so the configuration to fall back to is the base's file.
                    after = await _meta.MainAsync();
                    await _meta.MarkApprovedAsync(approvalId);
                    if (await _meta.ReadAgentAsync(name, baseCommit ?? $"refs/proposal/{approvalId}^") is { } baseFile)
                        oldConfig = baseFile with { Driver = baseFile.Driver ?? old!.Driver };
                }
                await _meta.PauseIfAskedAsync("committed", approvalId);
                failure = await RebuildOnMainAsync(name, slot, oldConfig, before, after, approvalId);
                break;
        }
        if (failure is null) await _meta.MarkAsync("deployed", approvalId, await _meta.MainAsync(), $"deployed: {name} runs proposal {approvalId}");
        else await _meta.MarkAsync("failed", approvalId, $"refs/proposal/{approvalId}", $"failed: {failure}");
        await _meta.PauseIfAskedAsync("marked", approvalId);
        await RecordDeployedAsync(name, requestedBy, approvalId, failure);
    }

    private const string AgentGoneReason = "the agent was destroyed before its new configuration was deployed";

    /// <summary>
    /// Stops the agent, sets it from <c>main</c>'s file and starts it; null when it runs. When it does not start, the
    /// registry and the file go back to <paramref name="old"/>, it is started on that, and the reason is returned.
    /// </summary>
    private async Task<string?> RebuildOnMainAsync(string name, Slot slot, AgentConfig old, string? before, string after, long approvalId)
    {
        string? failure = null;
        await using (await HoldTransientAsync(name, Transients.Rebuilding))
        {
            slot.CancelPendingRestart();
            await StopProcessAsync(name, slot);
            try
            {
                var config = await _meta.ReadAgentAsync(name) ?? throw new MetaFileException($"{MetaRepo.FileOf(name)} is gone from main");
                await ApplyConfigAsync(name, config with { Driver = config.Driver ?? old.Driver });
                await StartProcessAsync(name, slot, CancellationToken.None);
                await _meta.PauseIfAskedAsync("started", approvalId);
            }
            catch (Exception e) when (e is HiveException or DriverException or MetaFileException)
            {
                failure = e.Message;
                await ApplyConfigAsync(name, old);
                await _meta.RevertAgentAsync(name, old, before, after, $"{name}: proposal {approvalId} did not start, so its old configuration is back");
                try { await StartProcessAsync(name, slot, CancellationToken.None); }
                catch (Exception again) when (again is HiveException or DriverException) { _logger.LogError("containers: {Agent} did not start again on its old configuration: {Reason}", name, again.Message); }
            }
        }
        return failure;
    }

    /// <summary>The deploy is over: <c>applied_at</c>, and for a failure the requester's <c>config_failed</c>, in one change.</summary>
    private Task RecordDeployedAsync(string name, string requestedBy, long approvalId, string? failure) => ChangeAsync(async (change, mediator) =>
    {
        if (change.Execute("UPDATE approvals SET applied_at = @now WHERE id = @approvalId AND applied_at IS NULL", new { approvalId, now = _clock.GetUtcNow() }) == 0)
            return 0;
        if (failure is not null)
            await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, requestedBy, "config_failed",
                failure.StartsWith("stale:", StringComparison.Ordinal) || failure == AgentGoneReason
                    ? $"approval {approvalId}: the new configuration of {name} was not deployed ({failure})"
                    : $"approval {approvalId}: the new configuration of {name} did not start ({failure}); {name} runs its old one",
                new Dictionary<string, object?> { ["approval_id"] = approvalId, ["agent"] = name, ["reason"] = failure })]), CancellationToken.None);
        return 0;
    }, CancellationToken.None);

    /// <summary>
    /// Rebuilds an agent from its meta file (a meta-update changed one of its inputs): transient <c>rebuilding</c>, stop,
    /// the file applied to the registry, start. False when it is not a managed agent that is meant to run. Waits its turn.
    /// </summary>
    internal async Task<bool> RebuildAsync(string name, string why)
    {
        if (_registry.Find(name) is not { IsExternal: false, Desired: DesiredStates.Running }) return false;
        var slot = _slots.GetOrAdd(name, _ => new Slot());
        await slot.Turn.WaitAsync();
        try
        {
            await RebuildHoldingTurnAsync(name, slot);
            _logger.LogInformation("containers: rebuilt {Agent}: {Why}", name, why);
            return true;
        }
        finally
        {
            slot.Turn.Release();
        }
    }

    /// <summary>The manager's <c>rebuild</c>: the agent restarted on its meta file as it is now (409 while it is busy).</summary>
    internal async Task RebuildNowAsync(string name)
    {
        var (slot, _) = Managed(name);
        using (TakeTurn(name, slot))
            await RebuildHoldingTurnAsync(name, slot);
    }

    /// <summary>
    /// Reads the agent's meta file first: one that cannot be used is shown on the row (<c>config_error</c>) and refused,
    /// and the agent keeps running as it was. Then stop, apply, start, with the transient <c>rebuilding</c>.
    /// </summary>
    private async Task RebuildHoldingTurnAsync(string name, Slot slot)
    {
        AgentConfig? config;
        try
        {
            config = await _meta.ReadAgentAsync(name);
        }
        catch (MetaFileException e)
        {
            if (_problems.Set(name, e.Message)) await ShowRowAsync(name);
            throw;
        }
        if (_problems.Set(name, null)) await ShowRowAsync(name);
        await using (await HoldTransientAsync(name, Transients.Rebuilding))
        {
            slot.CancelPendingRestart();
            await StopProcessAsync(name, slot);
            if (config is not null) await ApplyConfigAsync(name, config with { Driver = config.Driver ?? _registry.Find(name)?.Driver });
            await StartProcessAsync(name, slot, CancellationToken.None);
        }
    }

    /// <summary>Sets the registry row's configuration fields from a meta file.</summary>
    private async Task ApplyConfigAsync(string name, AgentConfig config)
    {
        await RecordConfigAsync(name, config);
        _allowed.Set(name, config.AllowedRecipients);
    }

    private Task RecordConfigAsync(string name, AgentConfig config) => RecordAsync(name, """
        UPDATE agents SET command = @Command, driver = @Driver, env = @Env, purpose = @Purpose, restart_policy = @Restart, mounts = @Mounts,
                          inputs = @Inputs, allowed_recipients = @AllowedRecipients, secrets = @Secrets
        WHERE name = @name
        """, new
    {
        Secrets = SecretStore.Serialized(config.Secrets),
        AllowedRecipients = CreateAgent.Serialized(config.AllowedRecipients),
        name,
        Command = JsonSerializer.Serialize(config.Command ?? []),
        Driver = config.Driver ?? _drivers.Default,
        Env = JsonSerializer.Serialize(config.Env ?? new Dictionary<string, string>()),
        config.Purpose,
        Restart = config.Restart ?? RestartPolicies.OnFailure,
        Mounts = JsonSerializer.Serialize(config.Mounts ?? []),
        Inputs = JsonSerializer.Serialize(config.Inputs ?? []),
    });

    /// <summary>Commits an agent's file (null: removes it); the meta repo is the history, not the gate: a failure is logged.</summary>
    private async Task RecordInMetaAsync(string name, AgentConfig? config, string message)
    {
        try
        {
            await _meta.CommitAgentAsync(name, config, message);
        }
        catch (Exception e) when (e is MetaFileException or IOException)
        {
            _logger.LogWarning("meta: committing {Agent} failed: {Reason}", name, e.Message);
        }
    }
}
