using Hive.Contracts.Reminders;
using Hive.Shared.Dashboard;

namespace Hive.Features.Reminders;

/// <summary>Each event carries the agent's new <c>pending_reminders</c>, so the dashboard's chip follows without a refetch.</summary>
public sealed record ReminderScheduled(ReminderView Reminder, long PendingReminders) : IDashboardEvent<ReminderScheduledPayload>
{
    public string EventType => "reminder_scheduled";
    public ReminderScheduledPayload Payload => new(Reminder, Reminder.Agent, PendingReminders);
}

public sealed record ReminderDelivered(long Id, string Agent, long MessageId, long PendingReminders) : IDashboardEvent<ReminderDeliveredPayload>
{
    public string EventType => "reminder_delivered";
    public ReminderDeliveredPayload Payload => new(Id, Agent, MessageId, PendingReminders);
}

public sealed record ReminderFailed(long Id, string Agent, int AttemptCount, string LastError) : IDashboardEvent<ReminderFailedPayload>
{
    public string EventType => "reminder_failed";
    public ReminderFailedPayload Payload => new(Id, Agent, AttemptCount, LastError);
}

public sealed record ReminderCancelled(long Id, string Agent, long PendingReminders) : IDashboardEvent<ReminderCancelledPayload>
{
    public string EventType => "reminder_cancelled";
    public ReminderCancelledPayload Payload => new(Id, Agent, PendingReminders);
}

public sealed record ReminderReset(ReminderView Reminder) : IDashboardEvent<ReminderResetPayload>
{
    public string EventType => "reminder_reset";
    public ReminderResetPayload Payload => new(Reminder, Reminder.Agent);
}
