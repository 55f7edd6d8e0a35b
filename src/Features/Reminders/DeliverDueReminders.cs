using Dapper;
using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Reminders;

/// <summary>
/// One scheduler tick: every due reminder under MaxAttempts, oldest due first, each attempted once: (1) count the
/// attempt in its own commit, so one whose delivery kills the process still stops after MaxAttempts restarts;
/// (2) deliver = the message from <c>reminder</c> and the reminder's removal in ONE change, so a crash at any instant
/// neither loses nor duplicates it. Never-tried reminders go in chunks; a failure is recorded on the row and the tick
/// carries on.
/// </summary>
public static class DeliverDueReminders
{
    public sealed record Command : IRequest<Result>;

    public sealed record Result(int Delivered, int Failed);

    private const int Page = 256;
    /// <summary>Reminders delivered per transaction when none of them was tried before.</summary>
    private const int Chunk = 64;

    /// <summary>The tick itself is not a change: each step below is its own, committed before the next begins.</summary>
    internal sealed class Handler(
        IDb db,
        IMediator mediator,
        IAgentDirectory agents,
        IStateFileAllowList allowList,
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
            async Task AttemptAndCountAsync(IReadOnlyList<ReminderRow> reminders)
            {
                var (d, f) = await AttemptAsync(reminders, max);
                delivered += d;
                failed += f;
            }
            while (!cancellationToken.IsCancellationRequested)
            {
                List<ReminderRow> batch;
                using (var connection = db.Open())
                    batch = connection.Query<ReminderRow>(due, new { Now = now, Max = max, AfterDue = after.Due, AfterId = after.Id, Page }).AsList();
                var chunk = new List<ReminderRow>(Chunk);
                foreach (var reminder in batch)
                {
                    if (cancellationToken.IsCancellationRequested) break;
                    // Never tried: into a chunk (one commit counts its attempts, one change delivers it all).
                    // Tried before (it failed, or the host died during its attempt): alone, so a reminder whose delivery
                    // kills the process costs its chunk's neighbours at most one attempt, and still stops at MaxAttempts.
                    if (reminder.AttemptCount == 0) chunk.Add(reminder);
                    if (reminder.AttemptCount == 0 && chunk.Count < Chunk) continue;
                    await AttemptAndCountAsync(chunk); // due order: the chunk before it goes first
                    chunk.Clear();
                    if (reminder.AttemptCount > 0) await AttemptAndCountAsync([reminder]);
                }
                await AttemptAndCountAsync(chunk);
                if (batch.Count < Page) break;
                after = (batch[^1].DueAt, batch[^1].Id);
            }
            return new Result(delivered, failed);
        }

        /// <summary>Counts the attempts, records why any reminder cannot be delivered, and delivers the rest together.</summary>
        private async Task<(int Delivered, int Failed)> AttemptAsync(IReadOnlyList<ReminderRow> reminders, int max)
        {
            if (reminders.Count == 0) return (0, 0);
            var attempts = await mediator.Send(new CountAttempts(reminders.Select(r => r.Id).ToList(), max));

            var failures = new List<Failure>();
            var deliverable = new List<ReminderRow>();
            foreach (var reminder in reminders)
            {
                if (!attempts.TryGetValue(reminder.Id, out var attempt)) continue; // cancelled, or retried past us
                if (WhyUndeliverable(reminder) is { } error) failures.Add(new Failure(reminder, attempt, error));
                else deliverable.Add(reminder);
            }

            var delivered = 0;
            if (deliverable.Count > 0)
            {
                try
                {
                    delivered = await mediator.Send(new Deliver(deliverable));
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "{Count} reminders could not be delivered", deliverable.Count);
                    failures.AddRange(deliverable.Select(r =>
                        new Failure(r, attempts[r.Id], "delivery failed: the host could not store the message")));
                }
            }
            if (failures.Count > 0) await mediator.Send(new RecordFailures(failures));
            return (delivered, failures.Count);
        }

        private string? WhyUndeliverable(ReminderRow reminder)
        {
            if (!agents.IsAgent(reminder.Agent)) return $"{reminder.Agent} is not a live agent";
            if (reminder.PayloadPath is { } path && !allowList.Accepts(path, reminder.Agent))
                return $"payload {path} is no longer a readable state file";
            return null;
        }
    }

    /// <summary>Step 1: count the attempts, in a commit of their own. Returns each counted reminder's attempt number.</summary>
    internal sealed record CountAttempts(IReadOnlyList<long> Ids, int Max) : IRequest<Dictionary<long, int>>, IChangesState;

    internal sealed class CountAttemptsHandler(StateChanges changes) : IRequestHandler<CountAttempts, Dictionary<long, int>>
    {
        public Task<Dictionary<long, int>> Handle(CountAttempts command, CancellationToken cancellationToken) =>
            Task.FromResult(changes.Current.Query<(long Id, long Attempt)>(
                    "UPDATE reminders SET attempt_count = attempt_count + 1 WHERE id IN @Ids AND attempt_count < @Max RETURNING id, attempt_count",
                    command)
                .ToDictionary(x => x.Id, x => (int)x.Attempt));
    }

    /// <summary>
    /// Step 2: remove the reminders and append their messages, in one change. One cancelled since step 1 is simply
    /// not removed, and so not delivered. Returns how many were delivered.
    /// </summary>
    internal sealed record Deliver(IReadOnlyList<ReminderRow> Reminders) : IRequest<int>, IChangesState;

    internal sealed class DeliverHandler(StateChanges changes, IMediator mediator, IFileRefScanner fileRefs, TimeProvider clock) : IRequestHandler<Deliver, int>
    {
        public async Task<int> Handle(Deliver command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var removed = change.Query<long>("DELETE FROM reminders WHERE id IN @ids RETURNING id",
                new { ids = command.Reminders.Select(r => r.Id).ToList() }).ToHashSet();
            var reminders = command.Reminders.Where(r => removed.Contains(r.Id)).ToList();
            if (reminders.Count == 0) return 0;

            var messages = await mediator.Send(new AppendMessages.Command(reminders.Select(r => new AppendMessages.Draft(
                AgentNames.Reminder, r.Agent, MessageKinds.Reminder, r.Body, Extra(r))).ToList()), CancellationToken.None);

            // Each event carries its agent's count just after its own delivery, as one-by-one delivery would.
            var pending = reminders.Select(r => r.Agent).Distinct().ToDictionary(a => a, a => RemindersSql.PendingFor(change, a));
            var events = new ReminderDelivered[reminders.Count];
            for (var i = reminders.Count - 1; i >= 0; i--)
                events[i] = new ReminderDelivered(reminders[i].Id, reminders[i].Agent, messages[i].Id, pending[reminders[i].Agent]++);
            foreach (var delivered in events) change.Raise(delivered);
            RecurringReminders.SettleRuns(change, reminders.Select((r, i) => new RunOutcome(r.Id, r.RecurringId, RunStates.Delivered, messages[i].Id)),
                fileRefs, clock.GetUtcNow());
            return reminders.Count;
        }

        /// <summary>The message's reminder fields; a recurring reminder's run also names it (and the runs it stands for).</summary>
        private Dictionary<string, object?> Extra(ReminderRow r)
        {
            var extra = new Dictionary<string, object?>
            {
                ["reminder_id"] = r.Id,
                ["payload_path"] = r.PayloadPath,
                ["payload_refs"] = fileRefs.Scan(r.PayloadPath),
            };
            if (r.RecurringId is { } recurring) extra["recurring_id"] = recurring;
            if (r.MissedRuns is { } missed) extra["missed_runs"] = missed;
            return extra;
        }
    }

    internal sealed record Failure(ReminderRow Reminder, int Attempt, string Error);

    /// <summary>Step 3, for those that could not be delivered: why, on the row and on the dashboard.</summary>
    internal sealed record RecordFailures(IReadOnlyList<Failure> Failures) : IRequest, IChangesState;

    internal sealed class RecordFailuresHandler(StateChanges changes, IFileRefScanner fileRefs, TimeProvider clock) : IRequestHandler<RecordFailures>
    {
        public Task<Unit> Handle(RecordFailures command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var recorded = new List<RunOutcome>();
            foreach (var (reminder, attempt, error) in command.Failures)
                if (change.Execute("UPDATE reminders SET last_error = @error WHERE id = @Id", new { error, reminder.Id }) > 0)
                {
                    change.Raise(new ReminderFailed(reminder.Id, reminder.Agent, attempt, error));
                    recorded.Add(new RunOutcome(reminder.Id, reminder.RecurringId, RunStates.Failed, Note: $"attempt {attempt}: {error}"));
                }
            RecurringReminders.SettleRuns(change, recorded, fileRefs, clock.GetUtcNow());
            return Unit.Task;
        }
    }
}
