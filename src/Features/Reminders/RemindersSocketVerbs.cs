using Hive.Contracts.Reminders;
using Hive.Shared.Socket;

namespace Hive.Features.Reminders;

/// <summary>
/// The agents' reminder verbs: <c>remind</c> (for oneself; with <c>cron</c> a recurring one), <c>count_pending_reminders</c>,
/// and <c>recurring_list</c>, <c>recurring_show</c>, <c>recurring_pause</c>, <c>recurring_resume</c>, <c>recurring_cancel</c>.
/// </summary>
internal sealed class RemindersSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map(ReminderVerbs.Remind, async (request, args) =>
        {
            if (ScheduleRecurringReminder.IsAsked(args.Cron, args.TimeZone, args.CatchUp, args.Overlap))
            {
                var recurring = await request.Mediator.Send(new ScheduleRecurringReminder.Command(
                    request.Agent, args.Body, args.Cron, args.TimeZone, args.CatchUp, args.Overlap, args.PayloadPath, args.InSeconds, args.DueAt),
                    request.CancellationToken);
                return new RemindReply(recurring.Id, DueAt: null, Recurring: true, recurring.NextRuns);
            }
            var reminder = await request.Mediator.Send(
                new ScheduleReminder.Command(request.Agent, args.Body, args.InSeconds, args.DueAt, args.PayloadPath), request.CancellationToken);
            return new RemindReply(reminder.Id, reminder.DueAt, Recurring: null, NextRuns: null);
        });

        // An agent's own recurring reminders: list (with the next runs), one with its history, pause, resume, cancel.
        verbs.Map(ReminderVerbs.RecurringList, async (request, _) =>
            new RecurringListReply(await request.Mediator.Send(new ListRecurringReminders.Query(request.Agent), request.CancellationToken)));
        verbs.Map(ReminderVerbs.RecurringShow, async (request, args) =>
            await request.Mediator.Send(new ListRecurringReminders.One(RequiredId(args), request.Agent), request.CancellationToken));
        verbs.Map(ReminderVerbs.RecurringPause, async (request, args) =>
            await request.Mediator.Send(new PauseRecurringReminder.Command(RequiredId(args), Paused: true, request.Agent), request.CancellationToken));
        verbs.Map(ReminderVerbs.RecurringResume, async (request, args) =>
            await request.Mediator.Send(new PauseRecurringReminder.Command(RequiredId(args), Paused: false, request.Agent), request.CancellationToken));
        verbs.Map(ReminderVerbs.RecurringCancel, (request, args) =>
            request.Mediator.Send(new CancelRecurringReminder.Command(RequiredId(args), request.Agent), request.CancellationToken));

        verbs.Map(ReminderVerbs.CountPendingReminders, async (request, _) =>
            new CountReply(await request.Mediator.Send(new CountPendingReminders.Query(request.Agent), request.CancellationToken)));
    }

    private static long RequiredId(RecurringIdArgs args) =>
        args.Id is > 0 ? args.Id.Value : throw new Hive.Shared.Errors.BadRequestException("id is required: a recurring reminder's id");
}
