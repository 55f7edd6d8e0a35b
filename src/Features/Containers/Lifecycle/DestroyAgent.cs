using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Containers;

/// <summary>
/// The operator destroys an agent: its process is stopped, its socket closed and removed, its row leaves the registry,
/// and its state dir stays as a tombstone (purge deletes it; spawning the name again reuses it). Messages to it are then
/// refused as to an unknown agent, and its pending reminders fail with a clear <c>last_error</c>. <see cref="Approved"/>
/// is an approved destroy, sent once its decision committed (and again at start-up if the host died first): it waits
/// its turn and marks the approval applied with the rest. An agent with children is destroyed with its whole subtree
/// (<c>children: destroy</c>, deepest first; an approved destroy always) or its children move up to its parent first
/// (<c>children: reparent</c>); the operator says which. The subtree is marked to stay stopped in one change before any of
/// it is taken down, so a host killed midway starts none of it again.
/// </summary>
public static class DestroyAgent
{
    public const string DestroyChildren = "destroy";
    public const string ReparentChildren = "reparent";

    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator, string? Children = null) : IRequest;

    internal sealed record Approved(string Name, string RequestedBy, long ApprovalId) : IRequest;

    internal sealed class Handler(
        AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, AgentDirectory directory, StateChanges changes,
        IServiceScopeFactory scopes, TimeProvider clock, AllowedRecipients allowed)
        : IRequestHandler<Command>, IRequestHandler<Approved>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(command.Name);
            if (name == AgentNames.Manager) throw new ConflictException("the manager cannot be destroyed");
            var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            if (command.Children is not (null or DestroyChildren or ReparentChildren))
                throw new BadRequestException($"children must be {DestroyChildren} or {ReparentChildren}");
            var children = AgentTree.ChildrenOf(registry, name);
            if (children.Count > 0 && command.Children is null)
                throw new ConflictException($"{name} has {children.Count} {(children.Count == 1 ? "child" : "children")} ({string.Join(", ", children.Select(c => c.Name))}): " +
                    $"destroy them with it (children={DestroyChildren}) or move them up to {record.Parent ?? "the top level"} (children={ReparentChildren})");
            if (command.Children == ReparentChildren) await ReparentAsync(children, record.Parent);
            else await DestroySubtreeAsync(name, command.RequestedBy);
            using (await turns.TryTakeAsync(name))
                await DestroyAsync(name, command.RequestedBy, approvalId: null);
            return Unit.Value;
        }

        public async Task<Unit> Handle(Approved command, CancellationToken cancellationToken)
        {
            await DestroySubtreeAsync(command.Name, command.RequestedBy);
            using (await turns.WaitAsync(command.Name, cancellationToken))
                await DestroyAsync(command.Name, command.RequestedBy, command.ApprovalId);
            return Unit.Value;
        }

        /// <summary>Everything under <paramref name="name"/> marked to stay stopped (with it) in one change, then destroyed deepest first.</summary>
        private async Task DestroySubtreeAsync(string name, string requestedBy)
        {
            var below = AgentTree.SubtreeOf(registry, name);
            if (below.Count == 0) return;
            var names = below.Select(r => r.Name).Append(name).ToList();
            await changes.RunAsync(scopes, async (change, _) =>
            {
                change.Execute("UPDATE agents SET desired = @stopped WHERE name IN @names", new { stopped = DesiredStates.Stopped, names });
                foreach (var each in names) await steps.RaiseRowAsync(change, each);
            }, CancellationToken.None);
            foreach (var child in below)
                using (await turns.WaitAsync(child.Name, CancellationToken.None))
                    await DestroyAsync(child.Name, requestedBy, approvalId: null);
        }

        /// <summary>The direct children move up to <paramref name="parent"/> (null: the top level): their rows, whom they reach, and their meta files.</summary>
        private async Task ReparentAsync(IReadOnlyList<AgentRecord> children, string? parent)
        {
            var names = children.Select(c => c.Name).ToList();
            await changes.RunAsync(scopes, async (change, _) =>
            {
                change.Execute("UPDATE agents SET parent = @parent WHERE name IN @names", new { parent, names });
                foreach (var each in names) await steps.RaiseRowAsync(change, each);
            }, CancellationToken.None);
            foreach (var child in children)
            {
                allowed.Set(child.Name, child.AllowedRecipients, parent);
                if (!child.IsExternal)
                    await steps.RecordInMetaAsync(child.Name, child.ToConfig() with { Parent = parent }, $"{child.Name}: moved up to {parent ?? "the top level"}, its parent destroyed");
            }
        }

        /// <summary>The destroy itself, holding the agent's turn.</summary>
        private async Task DestroyAsync(string name, string requestedBy, long? approvalId)
        {
            if (registry.Find(name) is { } record)
            {
                await using (await steps.HoldTransientAsync(name, Transients.Destroying))
                {
                    var hold = turns.Of(name);
                    hold.CancelPendingRestart();
                    await steps.SetDesiredAsync(name, DesiredStates.Stopped, AgentSteps.InterventionOf(requestedBy, InterventionActions.Destroy, record));
                    await processes.StopAsync(name, hold);
                    if (!record.IsExternal) await processes.DriverOf(record).DestroyAsync(processes.SpecOf(record), CancellationToken.None);
                }
            }
            var bytes = registry.SizeOf(name); // measured before the change: a big tree is walked outside the gate
            await changes.RunAsync(scopes, async (change, scope) =>
            {
                if (approvalId is { } id)
                    change.Execute("UPDATE approvals SET applied_at = @now WHERE id = @id", new { id, now = clock.GetUtcNow() });
                if (change.Execute("DELETE FROM agents WHERE name = @name", new { name }) == 0) return;
                change.Execute("INSERT OR REPLACE INTO tombstones (name, destroyed_at, bytes) VALUES (@name, @now, @bytes)",
                    new { name, now = clock.GetUtcNow(), bytes });
                await directory.RemoveAsync(name, CancellationToken.None); // joins: the socket closes once this commits
                change.Raise(registry.TombstonesNow());
                await AgentSteps.TellManagerAsync(scope.GetRequiredService<IMediator>(), requestedBy, "destroyed",
                    $"{name} was destroyed by the {requestedBy}; its state dir is kept as a tombstone");
            }, CancellationToken.None);
            turns.Forget(name);
            await steps.RecordInMetaAsync(name, null, $"{name}: destroyed by the {requestedBy}");
        }
    }
}
