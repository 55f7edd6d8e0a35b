using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;

namespace Hive.Features.Reminders;

public static class CatchUpPolicies
{
    /// <summary>Runs missed while the host was down are not made up (the default).</summary>
    public const string Skip = "skip";
    /// <summary>One run stands for all the missed ones.</summary>
    public const string One = "one";
    public static readonly string[] All = [Skip, One];
}

public static class OverlapPolicies
{
    /// <summary>No new run while the last one's message is unacknowledged (the default).</summary>
    public const string SkipIfPending = "skip_if_pending";
    public const string Always = "always";
    public static readonly string[] All = [SkipIfPending, Always];
}

public static class RunStates
{
    public const string Due = "due";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
    public const string Cancelled = "cancelled";
}

/// <summary>A <c>recurring_reminders</c> row as stored.</summary>
internal sealed record RecurringRow(
    long Id, string Agent, string Body, string? PayloadPath, string Cron, string TimeZone, string CatchUp, string Overlap,
    DateTimeOffset? PausedAt, DateTimeOffset NextDueAt, DateTimeOffset CreatedAt)
{
    public const string Columns = "id, agent, body, payload_path, cron, time_zone, catch_up, overlap, paused_at, next_due_at, created_at";

    /// <summary>
    /// The stored schedule, or null when it no longer parses (a time zone the system dropped after an upgrade): such a
    /// reminder is paused by the scheduler, and shows no next runs.
    /// </summary>
    public CronSchedule? Schedule => CronSchedule.TryParse(Cron, TimeZone, out _);

    /// <summary>The next three runs: from the next unhandled one on (none while paused).</summary>
    public IReadOnlyList<DateTimeOffset> NextRuns(DateTimeOffset now)
    {
        if (PausedAt is not null || Schedule is not { } schedule) return [];
        var first = NextDueAt > now ? NextDueAt : schedule.Next(now);
        if (first is not { } at) return [];
        return [at, .. schedule.NextRuns(at, 2)];
    }

    public RecurringReminderView View(IFileRefScanner scanner, DateTimeOffset now, IReadOnlyList<ReminderRunView> runs) =>
        new(Id, Agent, Body, scanner.Scan(Body), PayloadPath, Cron, TimeZone, CatchUp, Overlap, PausedAt is null ? "active" : "paused",
            PausedAt, NextRuns(now), runs, CreatedAt);
}

internal sealed record RunRow(long Id, long RecurringId, DateTimeOffset DueAt, string State, long? ReminderId, long? MessageId, string? Note, DateTimeOffset UpdatedAt)
{
    public const string Columns = "id, recurring_id, due_at, state, reminder_id, message_id, note, updated_at";

    public ReminderRunView View() => new(Id, DueAt, State, ReminderId, MessageId, Note, UpdatedAt);
}
