namespace Hive.Contracts.Reminders;

/// <summary>
/// A pending reminder on the wire (failed ones included: attempt_count and last_error say so), with the state files its body
/// and its payload path name, as the scanner finds them now; <c>recurring_id</c> when it is a recurring reminder's run.
/// </summary>
public sealed record ReminderView(
    long Id,
    string Agent,
    DateTimeOffset DueAt,
    string Body,
    IReadOnlyList<string> BodyRefs,
    string? PayloadPath,
    IReadOnlyList<string> PayloadRefs,
    int AttemptCount,
    string? LastError,
    DateTimeOffset CreatedAt,
    long? RecurringId);

/// <summary>
/// A recurring reminder on the wire: its schedule and policies, <c>state</c> (active or paused), the next three run
/// times (none while paused), and its latest runs, newest first (the snapshot carries a few, the detail all 50 kept).
/// </summary>
public sealed record RecurringReminderView(
    long Id,
    string Agent,
    string Body,
    IReadOnlyList<string> BodyRefs,
    string? PayloadPath,
    string Cron,
    string TimeZone,
    string CatchUp,
    string Overlap,
    string State,
    DateTimeOffset? PausedAt,
    IReadOnlyList<DateTimeOffset> NextRuns,
    IReadOnlyList<ReminderRunView> Runs,
    DateTimeOffset CreatedAt);

/// <summary>One run: when it fell due, what became of it, and the reminder and message it made.</summary>
public sealed record ReminderRunView(long Id, DateTimeOffset DueAt, string State, long? ReminderId, long? MessageId, string? Note, DateTimeOffset UpdatedAt);
