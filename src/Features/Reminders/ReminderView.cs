using Hive.Features.StateFiles;

namespace Hive.Features.Reminders;

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

/// <summary>A <c>reminders</c> row as stored.</summary>
internal sealed record ReminderRow(
    long Id, string Agent, string Body, string? PayloadPath, DateTimeOffset DueAt, DateTimeOffset CreatedAt, long AttemptCount, string? LastError,
    long? RecurringId, long? MissedRuns)
{
    public const string Columns = "id, agent, body, payload_path, due_at, created_at, attempt_count, last_error, recurring_id, missed_runs";

    public ReminderView View(IFileRefScanner scanner) =>
        new(Id, Agent, DueAt, Body, scanner.Scan(Body), PayloadPath, scanner.Scan(PayloadPath), (int)AttemptCount, LastError, CreatedAt, RecurringId);
}
