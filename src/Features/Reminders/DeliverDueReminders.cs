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
/// One scheduler tick: every due reminder under MaxAttempts, oldest due first, each attempted once. Per reminder:
/// (1) count the attempt in its own commit, so one whose delivery kills the process still stops after MaxAttempts
/// restarts; (2) deliver = insert the message from <c>reminder</c> and delete the reminder in ONE transaction, so a
/// crash at any instant neither loses nor duplicates it. A failure is recorded on the row and the tick carries on.
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
                    // Never tried and deliverable: into a chunk (one commit counts its attempts, one delivers it all).
                    // Tried before (it failed, or the host died during its attempt): alone, so a reminder whose delivery
                    // kills the process costs its chunk's neighbours at most one attempt, and still stops at MaxAttempts.
                    if (reminder.AttemptCount == 0 && WhyUndeliverable(reminder) is null)
                    {
                        chunk.Add(reminder);
                        if (chunk.Count == Chunk) Add(await AttemptChunkAsync(chunk, max));
                        continue;
                    }
                    Add(await AttemptChunkAsync(chunk, max));
                    Add(await AttemptAsync(reminder, max) switch { true => (1, 0), false => (0, 1), null => (0, 0) });
                }
                Add(await AttemptChunkAsync(chunk, max));
                if (batch.Count < Page) break;
                after = (batch[^1].DueAt, batch[^1].Id);
            }
            return new Result(delivered, failed);
        }

        /// <summary>
        /// Counts the chunk's attempts in one commit, then delivers all of it in one transaction (its messages and the
        /// removal of its reminders, all or none). Clears the chunk. A reminder cancelled in between rolls the chunk back;
        /// it is then delivered one by one.
        /// </summary>
        private async Task<(int Delivered, int Failed)> AttemptChunkAsync(List<ReminderRow> chunk, int max)
        {
            if (chunk.Count == 0) return (0, 0);
            var ids = chunk.Select(r => r.Id).ToList();
            HashSet<long> counted;
            using (var connection = db.Open())
                counted = connection.Query<long>(
                    "UPDATE reminders SET attempt_count = attempt_count + 1 WHERE id IN @ids AND attempt_count < @max RETURNING id",
                    new { ids, max }).ToHashSet();
            var toDeliver = chunk.Where(r => counted.Contains(r.Id)).Select(r => r with { AttemptCount = r.AttemptCount + 1 }).ToList();
            chunk.Clear();
            if (toDeliver.Count == 0) return (0, 0);
            try
            {
                var drafts = toDeliver.Select(r => new AppendMessages.Draft(AgentNames.Reminder, r.Agent, MessageKinds.Reminder, r.Body,
                    new Dictionary<string, object?>
                    {
                        ["reminder_id"] = r.Id,
                        ["payload_path"] = r.PayloadPath,
                        ["payload_refs"] = fileRefs.Scan(r.PayloadPath),
                    })).ToList();
                await mediator.Send(new AppendMessages.Command(drafts, (connection, transaction, messages) =>
                    RemoveDelivered(connection, transaction, toDeliver, messages)));
                return (toDeliver.Count, 0);
            }
            catch (ReminderGoneException)
            {
                int delivered = 0, failed = 0;
                foreach (var reminder in toDeliver)
                    switch (await AttemptAsync(reminder, max))
                    {
                        case true: delivered++; break;
                        case false: failed++; break;
                    }
                return (delivered, failed);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "{Count} reminders could not be delivered", toDeliver.Count);
                foreach (var reminder in toDeliver)
                    await RecordFailureAsync(reminder, (int)reminder.AttemptCount, "delivery failed: the host could not store the message");
                return (0, toDeliver.Count);
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

        /// <returns>true when delivered, false when failed, null when the reminder went away meanwhile.</returns>
        private async Task<bool?> AttemptAsync(ReminderRow reminder, int max)
        {
            int attempt;
            using (var connection = db.Open())
            {
                var counted = connection.Query<long>(
                    "UPDATE reminders SET attempt_count = attempt_count + 1 WHERE id = @Id AND attempt_count < @max RETURNING attempt_count",
                    new { reminder.Id, max }).ToList();
                if (counted.Count == 0) return null; // cancelled, or retried past us
                attempt = (int)counted[0];
            }

            var error = WhyUndeliverable(reminder);
            if (error is null)
            {
                try
                {
                    var message = await mediator.Send(new AppendMessage.Command(
                        AgentNames.Reminder, reminder.Agent, MessageKinds.Reminder, reminder.Body,
                        new Dictionary<string, object?>
                        {
                            ["reminder_id"] = reminder.Id,
                            ["payload_path"] = reminder.PayloadPath,
                            ["payload_refs"] = fileRefs.Scan(reminder.PayloadPath),
                        },
                        (connection, transaction, delivered) => RemoveDelivered(connection, transaction, reminder, delivered.Id)));
                    return message is not null;
                }
                catch (ReminderGoneException)
                {
                    return null; // cancelled between the count and the delivery: the message rolled back with it
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "reminder {Id} for {Agent} could not be delivered", reminder.Id, reminder.Agent);
                    error = "delivery failed: the host could not store the message";
                }
            }

            await RecordFailureAsync(reminder, attempt, error);
            return false;
        }

        private string? WhyUndeliverable(ReminderRow reminder)
        {
            if (!agents.IsAgent(reminder.Agent)) return $"{reminder.Agent} is not a live agent";
            if (reminder.PayloadPath is { } path && !allowList.Accepts(path, reminder.Agent))
                return $"payload {path} is no longer a readable state file";
            return null;
        }

        private static Task<IReadOnlyList<INotification>> RemoveDelivered(
            Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction transaction, ReminderRow reminder, long messageId)
        {
            var removed = connection.Execute("DELETE FROM reminders WHERE id = @Id", new { reminder.Id }, transaction);
            if (removed == 0) throw new ReminderGoneException();
            var pending = RemindersSql.PendingFor(connection, reminder.Agent, transaction);
            return Task.FromResult<IReadOnlyList<INotification>>([new ReminderDelivered(reminder.Id, reminder.Agent, messageId, pending)]);
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
