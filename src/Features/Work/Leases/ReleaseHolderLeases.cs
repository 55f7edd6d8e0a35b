using Dapper;
using Hive.Contracts.Work;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work.Leases;

/// <summary>
/// Every lease of one holder ends at once, in one change: its process ended (stopped, crashed, failed) or the agent was
/// destroyed. An external agent (no process of the host's) keeps its leases until they expire or it releases them.
/// </summary>
public static class ReleaseHolderLeases
{
    public sealed record Command(string Holder) : IRequest<int>, IChangesState;

    internal sealed class Handler(StateChanges changes, TimeProvider clock) : IRequestHandler<Command, int>
    {
        public Task<int> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var released = change.Query<LeaseEnded>("DELETE FROM leases WHERE holder = @Holder RETURNING resource, holder", command);
            if (released.Count > 0) LeasesSql.RaiseChanged(change, clock.GetUtcNow(), "holder_exited", [], released);
            return Task.FromResult(released.Count);
        }
    }

    /// <summary>
    /// Watches the agents' rows (Containers publishes each as <c>container_state_changed</c>): a managed agent whose row
    /// shows it out of <c>running</c> (stopped, crashed, failed: by a stop, a restart's stop, a kill, a crash), or that leaves
    /// the directory, loses its leases. A row still <c>starting</c> does not count: its new process may already hold a lease
    /// before the row says <c>running</c>. Runs while the row's change publishes, so its
    /// <c>leases_changed</c> goes out just before that row's event. Never throws: a failure here must not stop the
    /// row's own event (MediatR 5 publishes handler after handler); the leases then end at their TTL.
    /// </summary>
    internal sealed class OnAgentExit(IMediator mediator, IDb db, ILogger<OnAgentExit> logger)
        : INotificationHandler<AgentRowChanged>, INotificationHandler<AgentRemoved>
    {
        private static readonly HashSet<string> Ended = ["stopped", "crashed", "failed"];

        public Task Handle(AgentRowChanged notification, CancellationToken cancellationToken) =>
            ProcessEnded(notification.Agent) ? ReleaseAsync(notification.Agent.Name) : Task.CompletedTask;

        public Task Handle(AgentRemoved notification, CancellationToken cancellationToken) => ReleaseAsync(notification.Name);

        /// <summary>The row as the wire shows it: Containers' facts (<c>driver</c>, <c>state</c>, <c>transient</c>) are its own to give.</summary>
        private static bool ProcessEnded(AgentRow row) =>
            row.StringOf("state") is { } state && Ended.Contains(state)
            && row.StringOf("driver") is { } driver && driver != "external" && row.StringOf("transient") != "starting";

        private async Task ReleaseAsync(string holder)
        {
            try
            {
                // A read first: most rows that change belong to agents holding no lease, and they need no write transaction.
                using (var connection = db.Open())
                    if (!await connection.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM leases WHERE holder = @holder)", new { holder }))
                        return;
                await mediator.Send(new Command(holder), CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogError(e, "leases: releasing the leases of {Agent}, whose process ended, failed; they end at their TTL", holder);
            }
        }
    }
}
