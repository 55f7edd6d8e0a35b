using System.Collections.Concurrent;
using Hive.Features.Containers.Drivers;
using Hive.Features.Messages;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using System.Text.Json;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// Runs the registry's agents. It starts and stops their processes through the drivers, notices each exit the moment
/// it happens (the driver's exit task, fed by the runtime's SIGCHLD handling: no poll), applies the restart policy,
/// and records every step in the registry together with its <c>container_state_changed</c> event, one unit of work
/// each. One action at a time per agent: an operator's action finds another running and gets a 409; the crash watch
/// and the restart policy wait their turn. An action holds a stored transient (<c>starting</c>, <c>stopping</c>, ...)
/// that a guard always clears; what a killed host left behind is reconciled at the next start.
/// </summary>
public sealed class Supervisor : BackgroundService
{
    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly AgentRegistry _registry;
    private readonly StateChanges _changes;
    private readonly IServiceScopeFactory _scopes;
    private readonly DriverCatalog _drivers;
    private readonly AgentDirectory _directory;
    private readonly HivePaths _paths;
    private readonly IOptions<ContainersOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<Supervisor> _logger;
    private readonly MetaRepo _meta;
    private readonly ConfigProblems _problems;
    private readonly AllowedRecipients _allowed;
    private volatile bool _hostStopping;

    internal Supervisor(
        AgentRegistry registry, StateChanges changes, IServiceScopeFactory scopes, DriverCatalog drivers, AgentDirectory directory,
        HivePaths paths, IOptions<ContainersOptions> options, TimeProvider clock, ILogger<Supervisor> logger, MetaRepo meta,
        ConfigProblems problems, AllowedRecipients allowed)
    {
        _allowed = allowed;
        _meta = meta;
        _problems = problems;
        _registry = registry;
        _changes = changes;
        _scopes = scopes;
        _drivers = drivers;
        _directory = directory;
        _paths = paths;
        _options = options;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>Completes once the start-up reconciliation has run (tests and the bench wait on it).</summary>
    public Task Reconciled => _reconciled.Task;
    private readonly TaskCompletionSource _reconciled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The running process group of an agent, if it has one now.</summary>
    public int? PidOf(string name) => _slots.TryGetValue(name, out var slot) && slot.Running is { Exited.IsCompleted: false } r ? r.Pid : null;

    // ---- operator actions (each returns once done; 409 while another action runs on the agent) ----

    /// <summary>Creates and starts an agent; a start that fails leaves nothing behind (a consumed tombstone comes back).</summary>
    internal async Task CreateAsync(AgentRecord record, string requestedBy, CancellationToken ct)
    {
        var slot = _slots.GetOrAdd(record.Name, _ => new Slot());
        using var turn = TakeTurn(record.Name, slot);
        var consumedTombstone = await ChangeAsync((_, mediator) => RegisterAsync(record, requestedBy, mediator, ct), ct);
        if (record.IsExternal) return;
        await RecordInMetaAsync(record.Name, record.ToConfig(), $"{record.Name}: spawned by the {requestedBy}");
        try
        {
            await using (await HoldTransientAsync(record.Name, Transients.Starting))
                await StartProcessAsync(record.Name, slot, ct);
        }
        catch (Exception) when (!_hostStopping)
        {
            // No half-made agent: out of the registry and the directory again, its tombstone (if it had one) back.
            await ChangeAsync(async (change, _) =>
            {
                change.Execute("DELETE FROM agents WHERE name = @Name", record);
                if (consumedTombstone)
                {
                    change.Execute("INSERT OR REPLACE INTO tombstones (name, destroyed_at, bytes) VALUES (@Name, @Now, @Bytes)",
                        new { record.Name, Now = _clock.GetUtcNow(), Bytes = _registry.SizeOf(record.Name) });
                    change.Raise(new TombstonesChanged(_registry.Tombstones()));
                }
                await _directory.RemoveAsync(record.Name, CancellationToken.None);
                return 0;
            }, CancellationToken.None);
            _slots.TryRemove(record.Name, out _);
            await RecordInMetaAsync(record.Name, null, $"{record.Name}: did not start, so it was not created");
            throw;
        }
    }

    /// <summary>
    /// Writes a new agent into the registry and the live directory (its socket opens once the change commits), consuming
    /// a tombstone of its name. Must run inside a change (an approval's decision joins it); true when a tombstone was consumed.
    /// </summary>
    internal async Task<bool> RegisterAsync(AgentRecord record, string requestedBy, IMediator mediator, CancellationToken ct)
    {
        var change = _changes.Current;
        if (_registry.Find(record.Name) is not null) throw new ConflictException($"there is already an agent named {record.Name}");
        var consumed = change.Execute("DELETE FROM tombstones WHERE name = @Name", record) > 0;
        change.Execute(AgentRegistry.Insert, record);
        _allowed.Set(record.Name, record.AllowedRecipientNames); // before its socket opens; a rolled-back name is set again when made
        // Joins this change: the row (with this feature's facts) goes out, then the socket opens.
        await _directory.AddAsync(record.Name, ct);
        if (consumed) change.Raise(new TombstonesChanged(_registry.Tombstones()));
        await TellManagerAsync(mediator, requestedBy, "spawned",
            $"{record.Name} was spawned by the {requestedBy}{(consumed ? ", reusing its old state dir" : "")}");
        return consumed;
    }

    /// <summary>Starts a registered agent in the background (after the change that registered it has committed).</summary>
    internal void StartInBackground(string name, string spawnedBy) => InBackground(name, "the approved start", async slot =>
    {
        if (_registry.Find(name) is { IsExternal: false } record)
            await RecordInMetaAsync(name, record.ToConfig(), $"{name}: spawned, as the {spawnedBy} asked and the operator approved");
        if (_hostStopping || slot.Running is not null || _registry.Find(name) is not { Desired: DesiredStates.Running, IsExternal: false }) return;
        await using (await HoldTransientAsync(name, Transients.Starting))
            await StartProcessAsync(name, slot, CancellationToken.None);
    });

    /// <summary>Work on an agent after the change that decided it has committed: it waits its turn, and a failure is logged.</summary>
    private void InBackground(string name, string what, Func<Slot, Task> work) => _ = Task.Run(async () =>
    {
        var slot = _slots.GetOrAdd(name, _ => new Slot());
        await slot.Turn.WaitAsync();
        try
        {
            await work(slot);
        }
        catch (Exception e)
        {
            _logger.LogError("containers: {What} of {Agent} failed: {Reason}", what, name, e.Message);
        }
        finally
        {
            slot.Turn.Release();
        }
    });

    internal async Task StartAsync(string name, string requestedBy, CancellationToken ct)
    {
        var (slot, record) = Managed(name);
        using var turn = TakeTurn(name, slot);
        await using (await HoldTransientAsync(name, Transients.Starting))
        {
            slot.CancelPendingRestart();
            slot.RestartTimes.Clear(); // the operator stepped in: a failed agent gets a fresh budget
            await SetDesiredAsync(name, DesiredStates.Running);
            if (slot.Running is { Exited.IsCompleted: false }) return;
            await StartProcessAsync(name, slot, ct);
            await ChangeAsync((_, mediator) => TellManagerAsync(mediator, requestedBy, "started", $"{record.Name} was started by the {requestedBy}"), ct);
        }
    }

    internal async Task StopAsync(string name, string requestedBy, CancellationToken ct)
    {
        var (slot, record) = Managed(name);
        using var turn = TakeTurn(name, slot);
        await using (await HoldTransientAsync(name, Transients.Stopping))
        {
            slot.CancelPendingRestart();
            await SetDesiredAsync(name, DesiredStates.Stopped);
            await StopProcessAsync(name, slot);
            await ChangeAsync((_, mediator) => TellManagerAsync(mediator, requestedBy, "stopped", $"{record.Name} was stopped by the {requestedBy}"), ct);
        }
    }

    internal async Task RestartAsync(string name, string requestedBy, CancellationToken ct)
    {
        var (slot, record) = Managed(name);
        using var turn = TakeTurn(name, slot);
        await using (await HoldTransientAsync(name, Transients.Restarting))
        {
            slot.CancelPendingRestart();
            slot.RestartTimes.Clear();
            await SetDesiredAsync(name, DesiredStates.Running);
            await StopProcessAsync(name, slot);
            await StartProcessAsync(name, slot, ct);
            await ChangeAsync((_, mediator) => TellManagerAsync(mediator, requestedBy, "restarted", $"{record.Name} was restarted by the {requestedBy}"), ct);
        }
    }

    /// <summary>Stops the agent, closes its socket and keeps its state dir as a tombstone.</summary>
    internal async Task DestroyAsync(string name, string requestedBy, CancellationToken ct)
    {
        if (name == AgentNames.Manager) throw new ConflictException("the manager cannot be destroyed");
        if (_registry.Find(name) is null) throw new NotFoundException($"no agent named {name}");
        var slot = _slots.GetOrAdd(name, _ => new Slot());
        using (TakeTurn(name, slot))
            await DestroyHoldingTurnAsync(name, requestedBy, slot, approvalId: null);
    }

    /// <summary>An approved destroy, applied after its decision committed (and again at start-up if the host died first).</summary>
    internal void DestroyInBackground(string name, string requestedBy, long approvalId) =>
        InBackground(name, "the approved destroy", slot => DestroyHoldingTurnAsync(name, requestedBy, slot, approvalId));

    private async Task DestroyHoldingTurnAsync(string name, string requestedBy, Slot slot, long? approvalId)
    {
        if (_registry.Find(name) is { } record)
        {
            await using (await HoldTransientAsync(name, Transients.Destroying))
            {
                slot.CancelPendingRestart();
                await SetDesiredAsync(name, DesiredStates.Stopped);
                await StopProcessAsync(name, slot);
                if (!record.IsExternal) await DriverOf(record).DestroyAsync(SpecOf(record), CancellationToken.None);
            }
        }
        var bytes = _registry.SizeOf(name); // measured before the change: a big tree is walked outside the gate
        await ChangeAsync(async (change, mediator) =>
        {
            if (approvalId is { } id)
                change.Execute("UPDATE approvals SET applied_at = @now WHERE id = @id", new { id, now = _clock.GetUtcNow() });
            if (change.Execute("DELETE FROM agents WHERE name = @name", new { name }) == 0) return 0;
            change.Execute("INSERT OR REPLACE INTO tombstones (name, destroyed_at, bytes) VALUES (@name, @now, @bytes)",
                new { name, now = _clock.GetUtcNow(), bytes });
            await _directory.RemoveAsync(name, CancellationToken.None); // joins: the socket closes once this commits
            change.Raise(new TombstonesChanged(_registry.Tombstones()));
            await TellManagerAsync(mediator, requestedBy, "destroyed", $"{name} was destroyed by the {requestedBy}; its state dir is kept as a tombstone");
            return 0;
        }, CancellationToken.None);
        _slots.TryRemove(name, out _);
        await RecordInMetaAsync(name, null, $"{name}: destroyed by the {requestedBy}");
    }

    /// <summary>
    /// An approved configuration change: its file goes on <c>main</c>, and exactly this agent is rebuilt (transient
    /// <c>rebuilding</c>: stopped, its registry row set from the file, started). A configuration that does not start
    /// leaves the agent and <c>main</c> as they were (and says so: <c>failed/&lt;id&gt;</c>, a message to the requester).
    /// </summary>
    internal void RebuildInBackground(string name, string requestedBy, long approvalId) =>
        InBackground(name, "the approved rebuild", slot => DeployProposalHoldingTurnAsync(name, requestedBy, slot, approvalId));

    private async Task DeployProposalHoldingTurnAsync(string name, string requestedBy, Slot slot, long approvalId)
    {
        var old = _registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
        var (before, after) = await _meta.ApplyProposalAsync(approvalId, name, $"{name}: proposal {approvalId} from the {requestedBy}, approved by the operator");
        var config = await _meta.ReadAgentAsync(name) ?? throw new MetaFileException($"{MetaRepo.FileOf(name)} is gone from main");
        string? failure = null;
        await using (await HoldTransientAsync(name, Transients.Rebuilding))
        {
            slot.CancelPendingRestart();
            await StopProcessAsync(name, slot);
            await ApplyConfigAsync(name, config);
            try
            {
                await StartProcessAsync(name, slot, CancellationToken.None);
            }
            catch (Exception e) when (e is HiveException or DriverException or MetaFileException)
            {
                failure = e.Message;
                await ApplyConfigAsync(name, old.ToConfig());
                await _meta.ResetMainAsync(before);
                try { await StartProcessAsync(name, slot, CancellationToken.None); }
                catch (Exception again) when (again is HiveException or DriverException) { _logger.LogError("containers: {Agent} did not start again on its old configuration: {Reason}", name, again.Message); }
            }
        }
        if (failure is null) await _meta.MarkAsync("deployed", approvalId, after, $"deployed: {name} runs proposal {approvalId}");
        else await _meta.MarkAsync("failed", approvalId, $"refs/proposal/{approvalId}", $"failed: {failure}");
        await ChangeAsync(async (change, mediator) =>
        {
            change.Execute("UPDATE approvals SET applied_at = @now WHERE id = @approvalId", new { approvalId, now = _clock.GetUtcNow() });
            if (failure is not null)
                await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, requestedBy, "config_failed",
                    $"approval {approvalId}: the new configuration of {name} did not start ({failure}); {name} runs its old one",
                    new Dictionary<string, object?> { ["approval_id"] = approvalId, ["agent"] = name, ["reason"] = failure })]), CancellationToken.None);
            return 0;
        }, CancellationToken.None);
    }

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
                          inputs = @Inputs, allowed_recipients = @AllowedRecipients
        WHERE name = @name
        """, new
    {
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

    // ---- the steps, each recorded with its event ----

    private async Task StartProcessAsync(string name, Slot slot, CancellationToken ct)
    {
        var record = _registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
        var driver = DriverOf(record);
        _paths.EnsureAgentDirs(name);
        var spec = SpecOf(record);
        RunningAgent running;
        try
        {
            running = await driver.StartAsync(spec, ct);
        }
        catch (DriverException e)
        {
            _logger.LogWarning("containers: {Agent} did not start: {Reason}", name, e.Message);
            await RecordAsync(name, "UPDATE agents SET state = @failed, pid = NULL WHERE name = @name", new { name, failed = States.Failed });
            throw new BadRequestException($"{name} could not be started: {e.Message}");
        }
        await RecordRunningAsync(name, slot, running);
    }

    /// <summary>A process is running for the agent (started now, or adopted at start-up): recorded, and watched.</summary>
    private async Task RecordRunningAsync(string name, Slot slot, RunningAgent running)
    {
        slot.Running = running;
        await ChangeAsync(async (change, mediator) =>
        {
            change.Execute("""
                UPDATE agents SET state = @running, pid = @Pid, pid_start_ticks = @StartTicks, started_at = @StartedAt WHERE name = @name
                """, new { name, running = States.Running, running.Pid, running.StartTicks, running.StartedAt });
            // What the agent's previous life took and never acknowledged is due again now, not after its ack timeout.
            await mediator.Send(new ReleaseInFlightMessages.Command(name), CancellationToken.None);
            await RaiseRowAsync(change, name);
            return 0;
        }, CancellationToken.None);
        _ = WatchAsync(name, slot, running);
    }

    /// <summary>Stops the agent's process if it has one and records how it ended (state <c>stopped</c>).</summary>
    private async Task StopProcessAsync(string name, Slot slot)
    {
        var running = slot.Running;
        slot.Running = null; // the crash watch sees an exit it was not the first to know about
        AgentExit? exit = null;
        if (running is not null) exit = await running.StopAsync(_options.Value.StopGrace);
        await RecordAsync(name, """
            UPDATE agents SET state = @stopped, pid = NULL,
                last_exit_code = coalesce(@Code, CASE WHEN @At IS NULL THEN last_exit_code END),
                last_exit_signal = coalesce(@Signal, CASE WHEN @At IS NULL THEN last_exit_signal END),
                last_exit_at = coalesce(@At, last_exit_at)
            WHERE name = @name
            """, new { name, stopped = States.Stopped, exit?.Code, exit?.Signal, exit?.At });
    }

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

    // ---- start-up and shutdown ----

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

    // ---- helpers ----

    private IContainerDriver DriverOf(AgentRecord record) =>
        _drivers.Find(record.Driver) ?? throw new ConflictException($"{record.Name} needs the {record.Driver} driver, which this host does not have");

    private LaunchSpec SpecOf(AgentRecord record) => new(record.Name, record.Kind == AgentKinds.Manager, record.CommandArgs, record.EnvVars,
        record.MountPaths, _paths.AgentStateDir(record.Name), _paths.SharedDir, _paths.AgentSocket(record.Name), _paths.AgentLogDir(record.Name));

    private (Slot Slot, AgentRecord Record) Managed(string name)
    {
        var record = _registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
        if (record.IsExternal) throw new ConflictException($"{name} is an external agent: Hive keeps its socket but does not run its process");
        return (_slots.GetOrAdd(name, _ => new Slot()), record);
    }

    /// <summary>The agent's one action at a time: an operator's action that finds another running is refused, not queued.</summary>
    private IDisposable TakeTurn(string name, Slot slot)
    {
        if (!slot.Turn.Wait(0))
        {
            var transient = _registry.Find(name)?.Transient;
            throw new ConflictException($"{name} is busy{(transient is null ? "" : $" ({transient})")}: try again when that is done");
        }
        return new Releaser(slot.Turn);
    }

    /// <summary>Stores the transient and shows it; disposing clears it whatever happened in between.</summary>
    private async Task<IAsyncDisposable> HoldTransientAsync(string name, string transient)
    {
        await RecordAsync(name, "UPDATE agents SET transient = @transient WHERE name = @name", new { name, transient });
        return new TransientGuard(async () =>
        {
            try
            {
                await RecordAsync(name, "UPDATE agents SET transient = NULL WHERE name = @name AND transient = @transient", new { name, transient });
            }
            catch (Exception e)
            {
                // Left stored, it is cleared by the next start-up's reconciliation.
                _logger.LogError(e, "containers: clearing {Agent}'s transient {Transient} failed", name, transient);
            }
        });
    }

    private Task SetDesiredAsync(string name, string desired) =>
        RecordAsync(name, "UPDATE agents SET desired = @desired WHERE name = @name", new { name, desired });

    /// <summary>One registry update and, when it changed the row, its event.</summary>
    private Task RecordAsync(string name, string sql, object args) => ChangeAsync(async (change, _) =>
    {
        if (change.Execute(sql, args) > 0) await RaiseRowAsync(change, name);
        return 0;
    }, CancellationToken.None);

    /// <summary>The row as it is now, as an event (for what changed outside the registry: a config problem).</summary>
    private Task ShowRowAsync(string name) => ChangeAsync(async (change, _) =>
    {
        await RaiseRowAsync(change, name);
        return 0;
    }, CancellationToken.None);

    private async Task RaiseRowAsync(StateChange change, string name)
    {
        if (_registry.Find(name) is not { } record || !_directory.IsAgent(name)) return;
        await using var scope = _scopes.CreateAsyncScope();
        var row = (await scope.ServiceProvider.GetRequiredService<AgentRows>().BuildAsync([record.ToInfo(_paths)], CancellationToken.None)).Single();
        change.Raise(new ContainerStateChanged(row));
    }

    /// <summary>A system message from <c>hive</c> to the manager, unless the manager itself asked for the change.</summary>
    private static async Task<int> TellManagerAsync(IMediator mediator, string requestedBy, string kind, string body,
        IReadOnlyDictionary<string, object?>? extra = null)
    {
        if (requestedBy == AgentNames.Manager) return 0;
        await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, AgentNames.Manager, kind, body, extra)]),
            CancellationToken.None);
        return 0;
    }

    private Task<T> ChangeAsync<T>(Func<StateChange, IMediator, Task<T>> work, CancellationToken ct) =>
        _changes.RunAsync(_scopes, (change, services) => work(change, services.GetRequiredService<IMediator>()), ct);

    private sealed class Slot
    {
        private volatile RunningAgent? _running;

        public SemaphoreSlim Turn { get; } = new(1, 1);

        /// <summary>Written under the turn; read without it by the crash watch (hence volatile).</summary>
        public RunningAgent? Running
        {
            get => _running;
            set => _running = value;
        }
        public List<DateTimeOffset> RestartTimes { get; } = [];
        private CancellationTokenSource? _pendingRestart;

        public void ScheduleRestart(Func<CancellationToken, Task> restart)
        {
            var cts = new CancellationTokenSource();
            Interlocked.Exchange(ref _pendingRestart, cts)?.Cancel();
            _ = Task.Run(() => restart(cts.Token));
        }

        public void CancelPendingRestart() => Interlocked.Exchange(ref _pendingRestart, null)?.Cancel();
    }

    private sealed class Releaser(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) semaphore.Release();
        }
    }

    private sealed class TransientGuard(Func<Task> clear) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await clear();
    }
}
