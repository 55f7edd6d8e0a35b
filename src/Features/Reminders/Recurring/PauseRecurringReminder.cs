using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>
/// The operator, or the agent it belongs to, pauses a recurring reminder (no run is made until it is resumed; a run
/// already made is still delivered) or resumes it (runs start again from the next time after now: the runs that fell in
/// the pause are not made up). Pausing a paused one, or resuming an active one, changes nothing.
/// </summary>
public static class PauseRecurringReminder
{
    /// <param name="Paused">True to pause, false to resume.</param>
    /// <param name="Agent">When an agent asks: the reminder must be its own.</param>
    public sealed record Command(long Id, bool Paused, string? Agent = null) : IRequest<RecurringReminderView>, IChangesState;

    internal sealed class Handler(StateChanges changes, IFileRefScanner fileRefs, TimeProvider clock) : IRequestHandler<Command, RecurringReminderView>
    {
        public Task<RecurringReminderView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var row = RecurringReminders.Owned(change, command.Id, command.Agent);
            if (row.PausedAt is not null == command.Paused) return Task.FromResult(RecurringReminders.View(change, row, fileRefs, now));
            if (command.Paused)
            {
                change.Execute("UPDATE recurring_reminders SET paused_at = @now WHERE id = @Id", new { now, command.Id });
                row = row with { PausedAt = now };
            }
            else
            {
                var schedule = row.Schedule ?? throw new ConflictException(
                    $"recurring reminder {command.Id}'s schedule no longer reads ('{row.Cron}' in {row.TimeZone}): cancel it and set up a new one");
                var next = schedule.Next(now) ?? DateTimeOffset.MaxValue;
                change.Execute("UPDATE recurring_reminders SET paused_at = NULL, next_due_at = @next WHERE id = @Id", new { next, command.Id });
                row = row with { PausedAt = null, NextDueAt = next };
            }
            var view = RecurringReminders.View(change, row, fileRefs, now);
            change.Raise(new RecurringReminderChanged(view));
            return Task.FromResult(view);
        }
    }
}
