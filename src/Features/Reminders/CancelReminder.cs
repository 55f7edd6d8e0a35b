using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>The operator cancels a reminder: a hard delete.</summary>
public static class CancelReminder
{
    public sealed record Command(long Id) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var agent = change.QuerySingleOrDefault<string>("DELETE FROM reminders WHERE id = @Id RETURNING agent", command)
                ?? throw new NotFoundException($"no reminder {command.Id}");
            change.Raise(new ReminderCancelled(command.Id, agent, RemindersSql.PendingFor(change, agent)));
            return Unit.Task;
        }
    }
}
