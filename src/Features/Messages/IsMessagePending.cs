using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// Whether a message still waits on its recipient: not acknowledged and not set aside. Reminders asks, inside its own
/// change, before it makes a recurring reminder's next run (its overlap policy).
/// </summary>
public static class IsMessagePending
{
    public sealed record Query(long Id) : IRequest<bool>, IChangesState;

    internal sealed class Handler(StateChanges changes) : IRequestHandler<Query, bool>
    {
        public Task<bool> Handle(Query query, CancellationToken cancellationToken) =>
            Task.FromResult(changes.Current.QuerySingle<long>(
                "SELECT count(*) FROM messages WHERE id = @Id AND delivered_at IS NULL AND undeliverable_at IS NULL", query) > 0);
    }
}
