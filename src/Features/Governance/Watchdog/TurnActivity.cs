using Hive.Features.Messages;
using Hive.Features.Questions;
using Hive.Features.Reminders;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// Marks a running turn as having done something (<see cref="Admission.Slot.Acted"/>, written with the turn when it ends):
/// its agent sent a message, acknowledged one that arrived during the turn (the messages that woke it do not count: a
/// harness acknowledges those whatever the turn did), or changed a reminder or a question. The events come after their
/// commits and before the agent's call returns, so they are in before the agent can end its turn.
/// </summary>
internal sealed class TurnActivity(Admission admission)
    : INotificationHandler<MessageSent>, INotificationHandler<MessageDelivered>, INotificationHandler<ReminderScheduled>,
      INotificationHandler<ReminderCancelled>, INotificationHandler<QuestionAdded>, INotificationHandler<QuestionResolved>
{
    public Task Handle(MessageSent notification, CancellationToken cancellationToken) => Mark(notification.Message.From);

    public Task Handle(MessageDelivered notification, CancellationToken cancellationToken)
    {
        if (admission.RunningOf(notification.Message.To) is { } slot && notification.Message.SentAt > slot.GrantedAt) slot.Acted = true;
        return Task.CompletedTask;
    }

    public Task Handle(ReminderScheduled notification, CancellationToken cancellationToken) => Mark(notification.Reminder.Agent);

    public Task Handle(ReminderCancelled notification, CancellationToken cancellationToken) => Mark(notification.Agent);

    public Task Handle(QuestionAdded notification, CancellationToken cancellationToken) => Mark(notification.Question.Asker);

    public Task Handle(QuestionResolved notification, CancellationToken cancellationToken) => Mark(notification.Question.Answerer);

    private Task Mark(string? agent)
    {
        if (agent is not null && admission.RunningOf(agent) is { } slot) slot.Acted = true;
        return Task.CompletedTask;
    }
}
