using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>The operator cancels a reminder, or an agent one of its own (<c>cancel_loose_end</c>): a hard delete.</summary>
public static class CancelReminder
{
    /// <param name="Agent">When an agent cancels: the reminder must be its own (else forbidden, and nothing changes).</param>
    public sealed record Command(long Id, string? Agent = null) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            if (command.Agent is not null)
            {
                var owner = change.QuerySingleOrDefault<string>("SELECT agent FROM reminders WHERE id = @Id", command)
                    ?? throw new NotFoundException($"no reminder {command.Id}");
                if (owner != command.Agent) throw new ForbiddenException($"reminder {command.Id} is not yours to cancel");
            }
            var agent = change.QuerySingleOrDefault<string>("DELETE FROM reminders WHERE id = @Id RETURNING agent", command)
                ?? throw new NotFoundException($"no reminder {command.Id}");
            change.Raise(new ReminderCancelled(command.Id, agent, RemindersSql.PendingFor(change, agent)));
            return Unit.Task;
        }
    }
}
