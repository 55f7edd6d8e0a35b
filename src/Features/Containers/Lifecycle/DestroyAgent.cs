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
/// its turn and marks the approval applied with the rest.
/// </summary>
public static class DestroyAgent
{
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest;

    internal sealed record Approved(string Name, string RequestedBy, long ApprovalId) : IRequest;

    internal sealed class Handler(
        AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, AgentDirectory directory, StateChanges changes,
        IServiceScopeFactory scopes, TimeProvider clock)
        : IRequestHandler<Command>, IRequestHandler<Approved>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(command.Name);
            if (name == AgentNames.Manager) throw new ConflictException("the manager cannot be destroyed");
            if (registry.Find(name) is null) throw new NotFoundException($"no agent named {name}");
            using (await turns.TryTakeAsync(name))
                await DestroyAsync(name, command.RequestedBy, approvalId: null);
            return Unit.Value;
        }

        public async Task<Unit> Handle(Approved command, CancellationToken cancellationToken)
        {
            using (await turns.WaitAsync(command.Name, cancellationToken))
                await DestroyAsync(command.Name, command.RequestedBy, command.ApprovalId);
            return Unit.Value;
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
