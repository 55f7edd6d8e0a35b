using System.Data;
using Dapper;
using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;
using Hive.Shared.Errors;

namespace Hive.Features.Reminders;

/// <summary>SQL the recurring reminders' use cases share: a row, its runs, its view, a run recorded.</summary>
internal static class RecurringReminders
{
    /// <summary>Runs kept per recurring reminder (its history).</summary>
    public const int KeptRuns = 50;

    /// <summary>Runs the snapshot and events carry (the detail carries all kept).</summary>
    public const int ShownRuns = 5;

    public static RecurringRow? Find(StateChange change, long id) =>
        change.QuerySingleOrDefault<RecurringRow>($"SELECT {RecurringRow.Columns} FROM recurring_reminders WHERE id = @id", new { id });

    /// <summary>
    /// The row, for the operator (<paramref name="agent"/> null) or for the agent it belongs to: another agent's is
    /// forbidden, a missing one not found.
    /// </summary>
    public static RecurringRow Owned(StateChange change, long id, string? agent)
    {
        var row = Find(change, id) ?? throw new NotFoundException($"no recurring reminder {id}");
        if (agent is not null && row.Agent != agent) throw new ForbiddenException($"recurring reminder {id} is not yours");
        return row;
    }

    /// <summary>The latest <paramref name="count"/> runs, newest first (inside a change, pass its transaction).</summary>
    public static IReadOnlyList<ReminderRunView> Runs(IDbConnection connection, long id, int count, IDbTransaction? transaction = null) =>
        connection.Query<RunRow>($"SELECT {RunRow.Columns} FROM reminder_runs WHERE recurring_id = @id ORDER BY id DESC LIMIT @count",
            new { id, count }, transaction).Select(r => r.View()).ToList();

    public static RecurringReminderView View(StateChange change, RecurringRow row, IFileRefScanner scanner, DateTimeOffset now) =>
        row.View(scanner, now, Runs(change.Connection, row.Id, ShownRuns, change.Transaction));

    /// <summary>Adds a run to the history and lets the oldest beyond <see cref="KeptRuns"/> go.</summary>
    public static void RecordRun(StateChange change, long recurringId, DateTimeOffset due, string state, long? reminderId, string? note, DateTimeOffset now)
    {
        change.Execute("""
            INSERT INTO reminder_runs (recurring_id, due_at, state, reminder_id, note, updated_at)
            VALUES (@recurringId, @due, @state, @reminderId, @note, @now)
            """, new { recurringId, due, state, reminderId, note, now });
        change.Execute("""
            DELETE FROM reminder_runs WHERE recurring_id = @recurringId AND id <= (
                SELECT id FROM reminder_runs WHERE recurring_id = @recurringId ORDER BY id DESC LIMIT 1 OFFSET @KeptRuns)
            """, new { recurringId, KeptRuns });
    }

    /// <summary>
    /// Runs' reminders were delivered, failed or cancelled: their history says so, a delivered run's message becomes the
    /// one skip_if_pending waits on, and each recurring reminder's event goes out with the change. Reminders that are not
    /// runs are left alone.
    /// </summary>
    public static void SettleRuns(StateChange change, IEnumerable<RunOutcome> outcomes, IFileRefScanner scanner, DateTimeOffset now)
    {
        var touched = new HashSet<long>();
        foreach (var (reminderId, recurring, state, messageId, note) in outcomes)
        {
            if (recurring is not { } recurringId) continue;
            touched.Add(recurringId);
            change.Execute("""
                UPDATE reminder_runs SET state = @state, message_id = coalesce(@messageId, message_id), note = @note, updated_at = @now
                WHERE reminder_id = @reminderId
                """, new { reminderId, state, messageId, note, now });
            if (messageId is not null)
                change.Execute("UPDATE recurring_reminders SET last_message_id = @messageId WHERE id = @recurringId", new { messageId, recurringId });
        }
        foreach (var id in touched)
            if (Find(change, id) is { } row) change.Raise(new RecurringReminderChanged(View(change, row, scanner, now)));
    }
}

/// <summary>What became of a reminder; <paramref name="RecurringId"/> null when it is not a run.</summary>
internal sealed record RunOutcome(long ReminderId, long? RecurringId, string State, long? MessageId = null, string? Note = null);

public sealed record RecurringReminderChanged(RecurringReminderView Recurring) : IDashboardEvent<RecurringReminderChangedPayload>
{
    public string EventType => "recurring_reminder_changed";
    public RecurringReminderChangedPayload Payload => new(Recurring, Recurring.Agent);
}

public sealed record RecurringReminderCancelled(long Id, string Agent) : IDashboardEvent<RecurringReminderCancelledPayload>
{
    public string EventType => "recurring_reminder_cancelled";
    public RecurringReminderCancelledPayload Payload => new(Id, Agent);
}
