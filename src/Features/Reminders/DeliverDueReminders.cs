using Dapper;
using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Reminders;

/// <summary>
/// One scheduler tick: every due reminder under MaxAttempts, oldest due first, each attempted once: (1) count the
/// attempt in its own commit, so one whose delivery kills the process still stops after MaxAttempts restarts;
/// (2) deliver = insert the message from <c>reminder</c> and delete the reminder in ONE transaction, so a crash at any
/// instant neither loses nor duplicates it. Never-tried reminders go in chunks; a failure is recorded on the row and
/// the tick carries on.
/// </summary>
public static class DeliverDueReminders
{
    public sealed record Command : IRequest<Result>;

    public sealed record Result(int Delivered, int Failed);

    private const int Page = 256;
    /// <summary>Reminders delivered per transaction when none of them was tried before.</summary>
    private const int Chunk = 64;

    internal sealed class Handler(
        IDb db,
        IMediator mediator,
        IAgentDirectory agents,
        IStateFileAllowList allowList,
        IFileRefScanner fileRefs,
        StateChangeGate gate,
        IOptions<RemindersOptions> options,
        TimeProvider clock,
        ILogger<Handler> logger) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            const string due = $"""
                SELECT {ReminderRow.Columns} FROM reminders
                WHERE due_at <= @Now AND attempt_count < @Max AND (due_at, id) > (@AfterDue, @AfterId)
                ORDER BY due_at, id
                LIMIT @Page;
                """;
            var max = options.Value.MaxAttempts;
            var now = clock.GetUtcNow();
            // Keyset paging over (due_at, id): each reminder is attempted at most once per tick.
            var after = (Due: DateTimeOffset.MinValue, Id: 0L);
            int delivered = 0, failed = 0;
            void Add((int Delivered, int Failed) counts)
            {
                delivered += counts.Delivered;
                failed += counts.Failed;
            }
            while (!cancellationToken.IsCancellationRequested)
            {
                List<ReminderRow> batch;
                using (var connection = db.Open())
                    batch = connection.Query<ReminderRow>(due, new { Now = now, Max = max, AfterDue = after.Due, AfterId = after.Id, Page }).ToList();
                var chunk = new List<ReminderRow>(Chunk);
                foreach (var reminder in batch)
                {
                    if (cancellationToken.IsCancellationRequested) break;
                    // Never tried: into a chunk (one commit counts its attempts, one transaction delivers it all).
                    // Tried before (it failed, or the host died during its attempt): alone, so a reminder whose delivery
                    // kills the process costs its chunk's neighbours at most one attempt, and still stops at MaxAttempts.
                    if (reminder.AttemptCount == 0) chunk.Add(reminder);
                    if (reminder.AttemptCount == 0 && chunk.Count < Chunk) continue;
                    Add(await AttemptAsync(chunk, max)); // due order: the chunk before it goes first
                    chunk.Clear();
                    if (reminder.AttemptCount > 0) Add(await AttemptAsync([reminder], max));
                }
                Add(await AttemptAsync(chunk, max));
                if (batch.Count < Page) break;
                after = (batch[^1].DueAt, batch[^1].Id);
            }
            return new Result(delivered, failed);
        }

        /// <summary>
        /// Counts the attempts of these reminders in one commit, records why any of them cannot be delivered, and
        /// delivers the rest in one transaction.
        /// </summary>
        private async Task<(int Delivered, int Failed)> AttemptAsync(IReadOnlyList<ReminderRow> reminders, int max)
        {
            if (reminders.Count == 0) return (0, 0);
            Dictionary<long, int> attempts;
            using (var connection = db.Open())
                attempts = connection.Query<(long Id, long Attempt)>(
                    "UPDATE reminders SET attempt_count = attempt_count + 1 WHERE id IN @ids AND attempt_count < @max RETURNING id, attempt_count",
                    new { ids = reminders.Select(r => r.Id).ToList(), max }).ToDictionary(x => x.Id, x => (int)x.Attempt);

            var failed = 0;
            var deliverable = new List<(ReminderRow Reminder, int Attempt)>();
            foreach (var reminder in reminders)
            {
                if (!attempts.TryGetValue(reminder.Id, out var attempt)) continue; // cancelled, or retried past us
                if (WhyUndeliverable(reminder) is { } error)
                {
                    await RecordFailureAsync(reminder, attempt, error);
                    failed++;
                }
                else deliverable.Add((reminder, attempt));
            }
            var (delivered, failedToStore) = await DeliverAsync(deliverable);
            return (delivered, failed + failedToStore);
        }

        /// <summary>
        /// The reminders' messages and their removal, in one transaction (all or none). If one was cancelled meanwhile
        /// the whole batch rolls back and is delivered one by one (its attempts are already counted).
        /// </summary>
        private async Task<(int Delivered, int Failed)> DeliverAsync(IReadOnlyList<(ReminderRow Reminder, int Attempt)> batch)
        {
            if (batch.Count == 0) return (0, 0);
            var reminders = batch.Select(b => b.Reminder).ToList();
            try
            {
                var drafts = reminders.Select(r => new AppendMessages.Draft(AgentNames.Reminder, r.Agent, MessageKinds.Reminder, r.Body,
                    new Dictionary<string, object?>
                    {
                        ["reminder_id"] = r.Id,
                        ["payload_path"] = r.PayloadPath,
                        ["payload_refs"] = fileRefs.Scan(r.PayloadPath),
                    })).ToList();
                await mediator.Send(new AppendMessages.Command(drafts, (connection, transaction, messages) =>
                    RemoveDelivered(connection, transaction, reminders, messages)));
                return (batch.Count, 0);
            }
            catch (ReminderGoneException) when (batch.Count > 1)
            {
                int delivered = 0, failed = 0;
                foreach (var single in batch)
                {
                    var (d, f) = await DeliverAsync([single]);
                    delivered += d;
                    failed += f;
                }
                return (delivered, failed);
            }
            catch (ReminderGoneException)
            {
                return (0, 0); // cancelled between the count and the delivery: the message rolled back with it
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "{Count} reminders could not be delivered", batch.Count);
                foreach (var (reminder, attempt) in batch)
                    await RecordFailureAsync(reminder, attempt, "delivery failed: the host could not store the message");
                return (0, batch.Count);
            }
        }

        private static Task<IReadOnlyList<INotification>> RemoveDelivered(
            Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction transaction,
            List<ReminderRow> reminders, IReadOnlyList<MessageView> messages)
        {
            var removed = connection.Execute("DELETE FROM reminders WHERE id IN @ids", new { ids = reminders.Select(r => r.Id).ToList() }, transaction);
            if (removed != reminders.Count) throw new ReminderGoneException();
            // Each event carries its agent's count just after its own delivery, as one-by-one delivery would.
            var pending = reminders.Select(r => r.Agent).Distinct().ToDictionary(a => a, a => RemindersSql.PendingFor(connection, a, transaction));
            var events = new INotification[reminders.Count];
            for (var i = reminders.Count - 1; i >= 0; i--)
                events[i] = new ReminderDelivered(reminders[i].Id, reminders[i].Agent, messages[i].Id, pending[reminders[i].Agent]++);
            return Task.FromResult<IReadOnlyList<INotification>>(events);
        }

        private string? WhyUndeliverable(ReminderRow reminder)
        {
            if (!agents.IsAgent(reminder.Agent)) return $"{reminder.Agent} is not a live agent";
            if (reminder.PayloadPath is { } path && !allowList.Accepts(path, reminder.Agent))
                return $"payload {path} is no longer a readable state file";
            return null;
        }

        private async Task RecordFailureAsync(ReminderRow reminder, int attempt, string error)
        {
            using (await gate.EnterChangeAsync())
            {
                int updated;
                using (var connection = db.Open())
                    updated = connection.Execute("UPDATE reminders SET last_error = @error WHERE id = @Id", new { error, reminder.Id });
                if (updated > 0) await mediator.Publish(new ReminderFailed(reminder.Id, reminder.Agent, attempt, error), CancellationToken.None);
            }
        }
    }

    private sealed class ReminderGoneException() : Exception("the reminder was removed during its delivery");
}
