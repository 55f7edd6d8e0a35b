using Hive.Shared.Socket;

namespace Hive.Features.Reminders;

/// <summary>The agents' reminder verbs: <c>remind</c> (for oneself) and <c>count_pending_reminders</c>.</summary>
internal sealed class RemindersSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map("remind", async request =>
        {
            var args = request.Bind<RemindArgs>();
            var reminder = await request.Mediator.Send(
                new ScheduleReminder.Command(request.Agent, args.Body, args.InSeconds, args.DueAt, args.PayloadPath), request.CancellationToken);
            return new { id = reminder.Id, due_at = reminder.DueAt };
        });

        verbs.Map("count_pending_reminders", async request =>
            new { count = await request.Mediator.Send(new CountPendingReminders.Query(request.Agent), request.CancellationToken) });
    }

    private sealed record RemindArgs(string? Body, double? InSeconds, DateTimeOffset? DueAt, string? PayloadPath);
}
