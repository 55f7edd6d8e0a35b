using System.Collections.Concurrent;
using Hive.Features.Containers.Drivers;
using Hive.Features.Messages;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
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
public sealed partial class Supervisor : BackgroundService
{
    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly AgentCgroups _cgroups;
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
    private readonly SecretStore _secrets;
    private volatile bool _hostStopping;

    internal Supervisor(
        AgentRegistry registry, StateChanges changes, IServiceScopeFactory scopes, DriverCatalog drivers, AgentDirectory directory,
        HivePaths paths, IOptions<ContainersOptions> options, TimeProvider clock, ILogger<Supervisor> logger, MetaRepo meta,
        ConfigProblems problems, AllowedRecipients allowed, AgentCgroups cgroups, SecretStore secrets)
    {
        _secrets = secrets;
        _cgroups = cgroups;
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
    /// Hive runs the manager from now on: the external manager's row (its socket stays open, its messages wait) takes the
    /// configuration and starts. A start that fails leaves it external again, as it was.
    /// </summary>
    internal async Task ManageManagerAsync(AgentRecord record, CancellationToken ct)
    {
        var name = AgentNames.Manager;
        var slot = _slots.GetOrAdd(name, _ => new Slot());
        using var turn = TakeTurn(name, slot);
        if (_registry.Find(name) is not { IsExternal: true })
            throw new ConflictException("the manager is run by Hive already: change its configuration instead (PUT /api/agents/manager/config)");
        const string Configure = """
            UPDATE agents SET driver = @Driver, origin = @Origin, command = @Command, env = @Env, mounts = @Mounts, purpose = @Purpose,
                restart_policy = @RestartPolicy, inputs = @Inputs, allowed_recipients = @AllowedRecipients, secrets = @Secrets,
                desired = @Desired, state = @State
            WHERE name = @Name AND driver = 'external'
            """;
        await RecordAsync(name, Configure, record);
        await RecordInMetaAsync(name, record.ToConfig(), $"{name}: run by Hive from now on, as the operator asked");
        try
        {
            await using (await HoldTransientAsync(name, Transients.Starting))
                await StartProcessAsync(name, slot, ct);
        }
        catch (Exception) when (!_hostStopping)
        {
            await RecordAsync(name, """
                UPDATE agents SET driver = 'external', origin = @config, command = NULL, env = '{}', mounts = '[]', purpose = NULL,
                    inputs = '[]', allowed_recipients = NULL, secrets = NULL, desired = @running, state = @running, pid = NULL
                WHERE name = @name
                """, new { name, config = Origins.Config, running = States.Running });
            await RecordInMetaAsync(name, null, $"{name}: did not start, so it stays external");
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
    private Task InBackground(string name, string what, Func<Slot, Task> work) => Task.Run(async () =>
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

    // ---- the steps, each recorded with its event ----

    private async Task StartProcessAsync(string name, Slot slot, CancellationToken ct)
    {
        var record = _registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
        var driver = DriverOf(record);
        _paths.EnsureAgentDirs(name);
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
        await RecordRunningAsync(name, slot, running);
    }

    /// <summary>A start refused (by its driver, or for a missing secret): said once in the log, and the row is <c>failed</c>.</summary>
    private async Task RecordStartFailedAsync(string name, string reason)
    {
        _logger.LogWarning("containers: {Agent} did not start: {Reason}", name, reason);
        await RecordAsync(name, "UPDATE agents SET state = @failed, pid = NULL WHERE name = @name", new { name, failed = States.Failed });
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
            var env = _secrets.ResolveFor(record.Name, spec.Env, record.SecretNames);
            if (_problems.Of(record.Name)?.StartsWith(SecretStore.MissingPrefix(record.Name), StringComparison.Ordinal) == true)
                _problems.Set(record.Name, null); // the row goes out with the running state next
            return spec with { Env = env };
        }
        catch (ConflictException e)
        {
            _problems.Set(record.Name, e.Message);
            await RecordStartFailedAsync(record.Name, e.Message);
            throw;
        }
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
        _logger.LogInformation("containers: {Agent} is running (pid {Pid})", name, running.Pid);
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
        if (running is not null) _logger.LogInformation("containers: {Agent} stopped ({Code}/{Signal})", name, exit?.Code, exit?.Signal);
    }

    // ---- helpers ----

    private IContainerDriver DriverOf(AgentRecord record) =>
        _drivers.Find(record.Driver) ?? throw new ConflictException($"{record.Name} needs the {record.Driver} driver, which this host does not have");

    private LaunchSpec SpecOf(AgentRecord record) => new(record.Name, record.Kind == AgentKinds.Manager, record.CommandArgs, record.EnvVars,
        record.MountPaths, _paths.AgentStateDir(record.Name), _paths.SharedDir, _paths.AgentSocket(record.Name), _paths.AgentLogDir(record.Name),
        _registry.SlotOf(record.Name));

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
