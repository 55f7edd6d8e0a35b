using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;

namespace Hive.Features.Reminders;

/// <summary>A <c>reminders</c> row as stored.</summary>
internal sealed record ReminderRow(
    long Id, string Agent, string Body, string? PayloadPath, DateTimeOffset DueAt, DateTimeOffset CreatedAt, long AttemptCount, string? LastError,
    long? RecurringId, long? MissedRuns)
{
    public const string Columns = "id, agent, body, payload_path, due_at, created_at, attempt_count, last_error, recurring_id, missed_runs";

    public ReminderView View(IFileRefScanner scanner) =>
        new(Id, Agent, DueAt, Body, scanner.Scan(Body), PayloadPath, scanner.Scan(PayloadPath), (int)AttemptCount, LastError, CreatedAt, RecurringId);
}
