using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>
/// The operator, or the agent it belongs to, cancels a recurring reminder: it goes with its history, and a run made
/// but not yet delivered goes too (a delivered run's message stays the agent's).
/// </summary>
public static class CancelRecurringReminder
{
    /// <param name="Agent">When an agent cancels: the reminder must be its own.</param>
    public sealed record Command(long Id, string? Agent = null) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = RecurringReminders.Owned(change, command.Id, command.Agent);
            var undelivered = change.Query<long>("DELETE FROM reminders WHERE recurring_id = @Id RETURNING id", command);
            var pending = RemindersSql.PendingFor(change, row.Agent);
            foreach (var reminderId in undelivered) change.Raise(new ReminderCancelled(reminderId, row.Agent, pending));
            change.Execute("DELETE FROM reminder_runs WHERE recurring_id = @Id", command);
            change.Execute("DELETE FROM recurring_reminders WHERE id = @Id", command);
            change.Raise(new RecurringReminderCancelled(command.Id, row.Agent));
            return Unit.Task;
        }
    }
}
