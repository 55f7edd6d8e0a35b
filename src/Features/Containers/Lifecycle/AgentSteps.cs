using System.Text.Json;
using Hive.Contracts.Agents;
using Hive.Features.Containers.Runtime;
using Hive.Features.Messages;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// The recorded steps of an agent's life that are not its process (<see cref="AgentProcesses"/> has those): each registry
/// update is one unit of work with its <c>container_state_changed</c>, and a transient held is always cleared. The
/// lifecycle use cases are sequences of these steps, taken while holding the agent's turn (<see cref="AgentTurns"/>).
/// </summary>
internal sealed class AgentSteps(
    AgentRegistry registry, StateChanges changes, IServiceScopeFactory scopes, AgentDirectory directory, HivePaths paths, MetaRepo meta,
    AllowedRecipients allowed, Runtime.DriverCatalog drivers, ILogger<AgentSteps> logger)
{
    /// <summary>A managed agent's record: 404 for an unknown name, 409 for an external agent.</summary>
    public AgentRecord Managed(string name)
    {
        var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
        return record.IsExternal ? throw new ConflictException($"{name} is an external agent: Hive keeps its socket but does not run its process") : record;
    }

    /// <summary>Stores the transient and shows it; disposing clears it whatever happened in between.</summary>
    public async Task<IAsyncDisposable> HoldTransientAsync(string name, string transient)
    {
        await RecordAsync(name, "UPDATE agents SET transient = @transient WHERE name = @name", new { name, transient });
        return HeldTransient(name, transient);
    }

    /// <summary>
    /// A transient the agent's row already holds (a create registers its row <c>starting</c>): disposing clears it, unless
    /// the step's last change already did (a start's running row), which spares a change that would change nothing.
    /// </summary>
    public IAsyncDisposable HeldTransient(string name, string transient) => new TransientGuard(async () =>
    {
        try
        {
            // No one else sets this agent's transient meanwhile: the step holds the agent's turn.
            if (registry.Find(name)?.Transient != transient) return;
            await RecordAsync(name, "UPDATE agents SET transient = NULL WHERE name = @name AND transient = @transient", new { name, transient });
        }
        catch (Exception e)
        {
            // Left stored, it is cleared by the next start-up's reconciliation.
            logger.LogError(e, "containers: clearing {Agent}'s transient {Transient} failed", name, transient);
        }
    });

    /// <summary>Sets what the agent should be; an operator's or the manager's override of its course is recorded with it, as an intervention.</summary>
    public Task SetDesiredAsync(string name, string desired, RecordIntervention? intervention = null) => changes.RunAsync(scopes, async (change, scope) =>
    {
        if (change.Execute("UPDATE agents SET desired = @desired WHERE name = @name", new { name, desired }) > 0) await RaiseRowAsync(change, name);
        if (intervention is not null) await scope.GetRequiredService<IMediator>().Send(intervention, CancellationToken.None);
    }, CancellationToken.None);

    /// <summary>
    /// The intervention an operator's or the manager's stop or destroy is (an agent's course overridden, not undone by a
    /// revert); none for the host's own steps.
    /// </summary>
    public static RecordIntervention? InterventionOf(string requestedBy, string action, AgentRecord record) =>
        requestedBy is AgentNames.Operator or AgentNames.Manager
            ? new RecordIntervention(Actor.Named(requestedBy), action, record.Name, $"{action} by the {requestedBy}",
                new { desired = record.Desired, state = record.State }, new { desired = DesiredStates.Stopped, state = action == InterventionActions.Destroy ? "destroyed" : States.Stopped })
            : null;

    /// <summary>One registry update and, when it changed the row, its event.</summary>
    public Task RecordAsync(string name, string sql, object args) => changes.RunAsync(scopes, async (change, _) =>
    {
        if (change.Execute(sql, args) > 0) await RaiseRowAsync(change, name);
    }, CancellationToken.None);

    /// <summary>The row as it is now, as an event (for what changed outside the registry: a config problem).</summary>
    public Task ShowRowAsync(string name) => changes.RunAsync(scopes, (change, _) => RaiseRowAsync(change, name), CancellationToken.None);

    /// <summary>The agent's row, with every feature's facts, raised as <c>container_state_changed</c> in <paramref name="change"/>.</summary>
    public async Task RaiseRowAsync(StateChange change, string name)
    {
        if (registry.Find(name) is not { } record || !directory.IsAgent(name)) return;
        await using var scope = scopes.CreateAsyncScope();
        var row = (await scope.ServiceProvider.GetRequiredService<AgentRows>().BuildAsync([record.ToInfo(paths)], CancellationToken.None)).Single();
        change.Raise(new AgentRowChanged(row));
    }

    /// <summary>A system message from <c>hive</c> to the manager, in a change of its own.</summary>
    public Task TellManagerAsync(string requestedBy, string kind, string body, IReadOnlyDictionary<string, object?>? extra = null) =>
        changes.RunAsync(scopes, (_, services) => TellManagerAsync(services.GetRequiredService<IMediator>(), requestedBy, kind, body, extra), CancellationToken.None);

    /// <summary>A system message from <c>hive</c> to the manager in the running change, unless the manager itself asked for what it tells.</summary>
    public static async Task TellManagerAsync(IMediator mediator, string requestedBy, string kind, string body,
        IReadOnlyDictionary<string, object?>? extra = null)
    {
        if (requestedBy == AgentNames.Manager) return;
        await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, AgentNames.Manager, kind, body, extra)]),
            CancellationToken.None);
    }

    /// <summary>
    /// Sets the registry row's configuration fields from a meta file (and whom it may message). When <paramref name="by"/>
    /// is given and the agent's own caps change, one <c>limit_change</c> intervention is recorded in the same change (its
    /// caps before and after; a null cap is the hive's default), so the audit and the row never disagree.
    /// </summary>
    public async Task ApplyConfigAsync(string name, AgentConfig config, Actor? by = null, string? reason = null)
    {
        await changes.RunAsync(scopes, async (change, services) =>
        {
            var before = registry.Find(name)?.OwnLimits;
            var after = config.Limits?.OrNull;
            var updated = change.Execute("""
                UPDATE agents SET command = @Command, driver = @Driver, env = @Env, purpose = @Purpose, restart_policy = @Restart, mounts = @Mounts,
                                  inputs = @Inputs, allowed_recipients = @AllowedRecipients, secrets = @Secrets, provider = @Provider,
                                  limit_memory_mib = @LimitMemoryMib, limit_cpu_percent = @LimitCpuPercent, limit_pids = @LimitPids,
                                  capabilities = @Capabilities, network = @Network, egress = @Egress, egress_ask = @EgressAsk,
                                  permissions = @Permissions, parent = @Parent, may_spawn = @MaySpawn,
                                  providers = @Providers, models = @Models
                WHERE name = @name
                """, new
            {
                Secrets = SecretStore.Stored(config.Secrets),
                AllowedRecipients = CreateAgent.Stored(config.AllowedRecipients),
                name,
                Command = new JsonList(config.Command ?? []),
                Driver = config.Driver ?? drivers.Default,
                Env = new JsonMap(config.Env ?? JsonMap.Empty),
                config.Purpose,
                Restart = config.Restart ?? RestartPolicies.OnFailure,
                Mounts = new JsonList(config.Mounts ?? []),
                Inputs = new JsonList(config.Inputs ?? []),
                Provider = config.Providers is [var first, ..] ? first : config.Provider,
                Providers = config.Providers is { } chain ? new JsonList(chain) : null,
                Models = config.Models is { } models ? new JsonMap(models) : null,
                LimitMemoryMib = after?.MemoryMib,
                LimitCpuPercent = after?.CpuPercent,
                LimitPids = after?.Pids,
                Capabilities = Capabilities.Stored(config.Capabilities),
                config.Network,
                Egress = config.Egress is { } egress ? new JsonList(egress) : null,
                EgressAsk = config.EgressAsk ?? false,
                Permissions = Json<AgentPermissions>.Of(config.Permissions),
                config.Parent,
                MaySpawn = Json<AgentSpawnLimits>.Of(config.MaySpawn),
            });
            if (updated == 0) return;
            if (by is not null && before != after)
                await services.GetRequiredService<IMediator>().Send(
                    new RecordIntervention(by, InterventionActions.LimitChange, name, reason, CapsShape(before), CapsShape(after)), CancellationToken.None);
            await RaiseRowAsync(change, name);
        }, CancellationToken.None);
        allowed.Set(name, config.AllowedRecipients, config.Parent);
    }

    private static object CapsShape(AgentLimits? own) => new { memory_mib = own?.MemoryMib, cpu_percent = own?.CpuPercent, pids = own?.Pids };

    /// <summary>
    /// Commits an agent's file (null: removes it), returning once the commit holding it is made; it may share that commit
    /// with other agents' records made at the same moment (a fleet's creates). The meta repo is the history, not the gate:
    /// a failure is logged.
    /// </summary>
    public async Task RecordInMetaAsync(string name, AgentConfig? config, string message)
    {
        try
        {
            await meta.CommitAgentAsync(name, config, message, joins: true);
        }
        catch (Exception e)
        {
            // Whatever it was (git, the disk, a permission): a create's undo and a stop's record must go on past it.
            logger.LogWarning("meta: committing {Agent} failed: {Reason}", name, e is MetaFileException or IOException ? e.Message : $"{e.GetType().Name}: {e.Message}");
        }
    }

    private sealed class TransientGuard(Func<Task> clear) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await clear();
    }
}
