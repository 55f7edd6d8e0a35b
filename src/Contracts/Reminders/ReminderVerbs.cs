using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Hive.Contracts.Messages;

namespace Hive.Contracts.Reminders;

public sealed record RemindArgs(
    [property: Required, Description("what to remind you of (over 1 KiB it is kept as a file in your state dir; a recurring one's body is at most 1 KiB)")]
    string? Body,
    [property: Description("when, from now (give this, due_at or cron)")] double? InSeconds,
    [property: Description("when, as an ISO 8601 time with a zone (give this, in_seconds or cron)")] DateTimeOffset? DueAt,
    [property: Description("a state file of yours, or in /shared, to carry along")] string? PayloadPath,
    [property: Description("a recurring reminder: five cron fields, minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5")] string? Cron,
    [property: Description("the IANA time zone cron is read in (default UTC), e.g. Europe/Berlin")] string? TimeZone,
    [property: AllowedValues("skip", "one"), Description("runs missed while the hive was down: skip them (default) or deliver one for all")] string? CatchUp,
    [property: AllowedValues("skip_if_pending", "always"), Description("skip a run while you have not acknowledged the last one (default), or always deliver")]
    string? Overlap);

public sealed record RecurringIdArgs([property: Required, Description("the recurring reminder's id")] long? Id);

public sealed record CountReply(long Count);

/// <summary>
/// <c>remind</c>'s reply: the reminder's id, and <c>due_at</c> for a one-off reminder, or <c>recurring</c> (true) and
/// <c>next_runs</c> for a recurring one; the other kind's fields are left out.
/// </summary>
public sealed record RemindReply(
    long Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? DueAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Recurring,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<DateTimeOffset>? NextRuns);

public sealed record RecurringListReply(IReadOnlyList<RecurringReminderView> Recurring);

/// <summary>The agents' reminder verbs (for oneself).</summary>
public static class ReminderVerbs
{
    public static readonly SocketVerb<RemindArgs, RemindReply> Remind = new("remind",
        "Schedule a reminder to yourself: once (in_seconds or due_at; returns {id, due_at}), or recurring (cron: returns {id, " +
        "recurring: true, next_runs}; each run arrives as a reminder message carrying recurring_id; manage it with the recurring_* tools).",
        McpTool: true);

    public static readonly SocketVerb<NoArgs, RecurringListReply> RecurringList = new("recurring_list",
        "List your recurring reminders with their next three runs and latest runs. Returns {recurring: [...]}.", McpTool: true, Reach: VerbReach.Own);

    public static readonly SocketVerb<RecurringIdArgs, RecurringReminderView> RecurringShow = new("recurring_show",
        "One of your recurring reminders with its next runs and its history.", Reach: VerbReach.Own);

    public static readonly SocketVerb<RecurringIdArgs, RecurringReminderView> RecurringPause = new("recurring_pause",
        "Pause one of your recurring reminders: no run until you resume it.", McpTool: true);

    public static readonly SocketVerb<RecurringIdArgs, RecurringReminderView> RecurringResume = new("recurring_resume",
        "Resume a paused recurring reminder: runs start again from the next time after now.", McpTool: true);

    public static readonly SocketVerb<RecurringIdArgs, NoReply> RecurringCancel = new("recurring_cancel",
        "Cancel one of your recurring reminders for good (with its history).", McpTool: true);

    public static readonly SocketVerb<NoArgs, CountReply> CountPendingReminders = new("count_pending_reminders",
        "How many of your reminders have not fired yet.", McpTool: true, Reach: VerbReach.Own);
}
