namespace Hive.Contracts.Reminders;

// The payloads of the Reminders slice's dashboard events; pending_reminders is the agent's new count, so the
// dashboard's chip follows without a refetch.

/// <summary><c>reminder_scheduled</c>.</summary>
public sealed record ReminderScheduledPayload(ReminderView Reminder, string Agent, long PendingReminders);

/// <summary><c>reminder_delivered</c>: the reminder became message <c>message_id</c>.</summary>
public sealed record ReminderDeliveredPayload(long Id, string Agent, long MessageId, long PendingReminders);

/// <summary><c>reminder_failed</c>.</summary>
public sealed record ReminderFailedPayload(long Id, string Agent, int AttemptCount, string LastError);

/// <summary><c>reminder_cancelled</c>.</summary>
public sealed record ReminderCancelledPayload(long Id, string Agent, long PendingReminders);

/// <summary><c>reminder_reset</c>: a failed reminder is pending again.</summary>
public sealed record ReminderResetPayload(ReminderView Reminder, string Agent);

/// <summary><c>recurring_reminder_changed</c>.</summary>
public sealed record RecurringReminderChangedPayload(RecurringReminderView Recurring, string Agent);

/// <summary><c>recurring_reminder_cancelled</c>.</summary>
public sealed record RecurringReminderCancelledPayload(long Id, string Agent);
