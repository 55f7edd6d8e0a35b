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
        verbs.Map("remind", async request =>
        {
            var args = request.Bind<RemindArgs>();
            if (args.IsRecurring)
            {
                var recurring = await request.Mediator.Send(new ScheduleRecurringReminder.Command(
                    request.Agent, args.Body, args.Cron, args.TimeZone, args.CatchUp, args.Overlap, args.PayloadPath, args.InSeconds, args.DueAt),
                    request.CancellationToken);
                return new { id = recurring.Id, recurring = true, next_runs = recurring.NextRuns };
            }
            var reminder = await request.Mediator.Send(
                new ScheduleReminder.Command(request.Agent, args.Body, args.InSeconds, args.DueAt, args.PayloadPath), request.CancellationToken);
            return new { id = reminder.Id, due_at = reminder.DueAt };
        });

        // An agent's own recurring reminders: list (with the next runs), one with its history, pause, resume, cancel.
        verbs.Map("recurring_list", async request =>
            new { recurring = await request.Mediator.Send(new ListRecurringReminders.Query(request.Agent), request.CancellationToken) });
        verbs.Map("recurring_show", async request =>
            await request.Mediator.Send(new ListRecurringReminders.One(request.Bind<IdArgs>().RequiredId, request.Agent), request.CancellationToken));
        verbs.Map("recurring_pause", async request =>
            await request.Mediator.Send(new PauseRecurringReminder.Command(request.Bind<IdArgs>().RequiredId, Paused: true, request.Agent), request.CancellationToken));
        verbs.Map("recurring_resume", async request =>
            await request.Mediator.Send(new PauseRecurringReminder.Command(request.Bind<IdArgs>().RequiredId, Paused: false, request.Agent), request.CancellationToken));
        verbs.Map("recurring_cancel", async request =>
        {
            await request.Mediator.Send(new CancelRecurringReminder.Command(request.Bind<IdArgs>().RequiredId, request.Agent), request.CancellationToken);
            return new { };
        });

        verbs.Map("count_pending_reminders", async request =>
            new { count = await request.Mediator.Send(new CountPendingReminders.Query(request.Agent), request.CancellationToken) });
    }

    private sealed record RemindArgs(
        string? Body, double? InSeconds, DateTimeOffset? DueAt, string? PayloadPath, string? Cron, string? TimeZone, string? CatchUp, string? Overlap)
    {
        public bool IsRecurring => ScheduleRecurringReminder.IsAsked(Cron, TimeZone, CatchUp, Overlap);
    }

    private sealed record IdArgs(long? Id)
    {
        public long RequiredId => Id is > 0 ? Id.Value : throw new Hive.Shared.Errors.BadRequestException("id is required: a recurring reminder's id");
    }
}
