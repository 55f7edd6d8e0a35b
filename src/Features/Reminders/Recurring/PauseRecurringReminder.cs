using Hive.Features.StateFiles;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>
/// The operator, or the agent it belongs to, pauses a recurring reminder: no run is made until it is resumed (a run
/// already made is still delivered). Pausing a paused one changes nothing.
/// </summary>
public static class PauseRecurringReminder
{
    /// <param name="Agent">When an agent pauses: the reminder must be its own.</param>
    public sealed record Command(long Id, string? Agent = null) : IRequest<RecurringReminderView>, IChangesState;

    internal sealed class Handler(StateChanges changes, IFileRefScanner fileRefs, TimeProvider clock) : IRequestHandler<Command, RecurringReminderView>
    {
        public Task<RecurringReminderView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var row = RecurringReminders.Owned(change, command.Id, command.Agent);
            if (row.PausedAt is not null) return Task.FromResult(RecurringReminders.View(change, row, fileRefs, now));
            change.Execute("UPDATE recurring_reminders SET paused_at = @now WHERE id = @Id", new { now, command.Id });
            var view = RecurringReminders.View(change, row with { PausedAt = now }, fileRefs, now);
            change.Raise(new RecurringReminderChanged(view));
            return Task.FromResult(view);
        }
    }
}
