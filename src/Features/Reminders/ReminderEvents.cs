using Hive.Shared.Dashboard;

namespace Hive.Features.Reminders;

/// <summary>Each event carries the agent's new <c>pending_reminders</c>, so the dashboard's chip follows without a refetch.</summary>
public sealed record ReminderScheduled(ReminderView Reminder, long PendingReminders) : IDashboardEvent
{
    public string EventType => "reminder_scheduled";
    public object Payload => new { reminder = Reminder, agent = Reminder.Agent, pending_reminders = PendingReminders };
}

public sealed record ReminderDelivered(long Id, string Agent, long MessageId, long PendingReminders) : IDashboardEvent
{
    public string EventType => "reminder_delivered";
    public object Payload => new { id = Id, agent = Agent, message_id = MessageId, pending_reminders = PendingReminders };
}

public sealed record ReminderFailed(long Id, string Agent, int AttemptCount, string LastError) : IDashboardEvent
{
    public string EventType => "reminder_failed";
    public object Payload => new { id = Id, agent = Agent, attempt_count = AttemptCount, last_error = LastError };
}

public sealed record ReminderCancelled(long Id, string Agent, long PendingReminders) : IDashboardEvent
{
    public string EventType => "reminder_cancelled";
    public object Payload => new { id = Id, agent = Agent, pending_reminders = PendingReminders };
}

public sealed record ReminderReset(ReminderView Reminder) : IDashboardEvent
{
    public string EventType => "reminder_reset";
    public object Payload => new { reminder = Reminder, agent = Reminder.Agent };
}
