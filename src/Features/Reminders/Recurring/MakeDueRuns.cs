using Dapper;
using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Reminders;

/// <summary>
/// The scheduler's first step each tick: every active recurring reminder whose next run has come gets its runs made.
/// A run is an ordinary reminder (so it is delivered exactly once, across crashes, by <see cref="DeliverDueReminders"/>),
/// inserted in the same change that records the run and moves the schedule on: a crash leaves either both or neither.
/// Runs reached within <c>MissedAfterSeconds</c> of their time are made; older ones were missed (the host was down), and
/// the catch-up policy either skips them or makes one run for them all. The overlap policy skips a run while the last
/// run's reminder is undelivered or its message unacknowledged; so does a full pending-reminder quota. A reminder whose agent
/// is not live makes no runs (its schedule moves on quietly); one whose schedule no longer reads is paused.
/// </summary>
public static class MakeDueRuns
{
    public sealed record Command : IRequest<int>;

    private const int Page = 64;

    /// <summary>Runs counted when saying how many were missed; beyond it the note says "at least".</summary>
    private const int CountedMissedRuns = 10_000;

    internal sealed class Handler(IDb db, IMediator mediator, TimeProvider clock) : IRequestHandler<Command, int>
    {
        public async Task<int> Handle(Command command, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            var made = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                List<long> due;
                using (var connection = db.Open())
                    due = connection.Query<long>(
                        "SELECT id FROM recurring_reminders WHERE paused_at IS NULL AND next_due_at <= @now ORDER BY next_due_at, id LIMIT @Page",
                        new { now, Page }).AsList();
                if (due.Count == 0) break;
                made += await mediator.Send(new MakeRuns(due, now), CancellationToken.None);
                if (due.Count < Page) break;
            }
            return made;
        }
    }

    /// <summary>One change for a page of recurring reminders: each one's runs, history and next time.</summary>
    internal sealed record MakeRuns(IReadOnlyList<long> Ids, DateTimeOffset Now) : IRequest<int>, IChangesState;

    internal sealed class MakeRunsHandler(
        StateChanges changes, IMediator mediator, IFileRefScanner fileRefs, IAgentDirectory agents, IOptions<RemindersOptions> options)
        : IRequestHandler<MakeRuns, int>
    {
        public async Task<int> Handle(MakeRuns command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = command.Now;
            var missedBefore = now.AddSeconds(-options.Value.MissedAfterSeconds);
            var made = 0;
            foreach (var id in command.Ids)
            {
                // Read again inside the change: paused, cancelled or handled since the page was read.
                if (RecurringReminders.Find(change, id) is not { PausedAt: null } row || row.NextDueAt > now) continue;
                if (row.Schedule is not { } schedule)
                {
                    // Its time zone is gone from the system (an upgrade dropped an alias): paused, said once, the rest go on.
                    RecurringReminders.RecordRun(change, row.Id, row.NextDueAt, RunStates.Skipped, null,
                        $"paused: the schedule no longer reads ('{row.Cron}' in {row.TimeZone})", now);
                    change.Execute("UPDATE recurring_reminders SET paused_at = @now WHERE id = @id", new { now, id });
                    change.Raise(new RecurringReminderChanged(RecurringReminders.View(change, row with { PausedAt = now }, fileRefs, now)));
                    continue;
                }
                // The next run strictly after now: what this change moves the schedule on to, whatever it makes.
                var next = schedule.Next(now) ?? DateTimeOffset.MaxValue;
                if (!agents.IsAgent(row.Agent))
                {
                    // A destroyed agent's (it may come back from its tombstone): no runs, no history, no event, until it is live.
                    change.Execute("UPDATE recurring_reminders SET next_due_at = @next WHERE id = @id", new { next, id });
                    continue;
                }
                var runs = schedule.Between(row.NextDueAt, now, CountedMissedRuns);
                if (runs.Count == CountedMissedRuns && schedule.LastAtOrBefore(now) is { } latest && latest > runs[^1])
                    runs = [.. runs, latest]; // beyond the count: the latest run still decides what is missed and what is not
                var missed = runs.Where(at => at < missedBefore).ToList();
                if (missed.Count > 0)
                {
                    var count = missed.Count < CountedMissedRuns ? $"{missed.Count}" : $"at least {CountedMissedRuns}";
                    var note = $"{count} run(s) missed while the host was down, from {missed[0]:yyyy-MM-ddTHH:mm:ssZ}";
                    if (row.CatchUp == CatchUpPolicies.One) made += await RunAsync(change, row, missed[^1], missed.Count, note, now);
                    else RecurringReminders.RecordRun(change, row.Id, missed[^1], RunStates.Skipped, null, note + " (catch_up: skip)", now);
                }
                foreach (var at in runs.Where(at => at >= missedBefore)) made += await RunAsync(change, row, at, null, null, now);

                change.Execute("UPDATE recurring_reminders SET next_due_at = @next WHERE id = @id", new { next, id });
                change.Raise(new RecurringReminderChanged(RecurringReminders.View(change, row with { NextDueAt = next }, fileRefs, now)));
            }
            return made;
        }

        /// <summary>Makes one run (its reminder and its history), unless the overlap policy skips it. Returns 1 when made.</summary>
        private async Task<int> RunAsync(StateChange change, RecurringRow row, DateTimeOffset due, int? missed, string? note, DateTimeOffset now)
        {
            if (row.Overlap == OverlapPolicies.SkipIfPending && await LastRunPendingAsync(change, row.Id) is { } pending)
            {
                RecurringReminders.RecordRun(change, row.Id, due, RunStates.Skipped, null, $"{pending} (overlap: skip_if_pending)", now);
                return 0;
            }
            // Runs count against the agent's pending reminders like any reminder (overlap "always" must not pile up without end).
            var max = options.Value.MaxPendingPerAgent;
            if (RemindersSql.PendingFor(change, row.Agent) >= max)
            {
                RecurringReminders.RecordRun(change, row.Id, due, RunStates.Skipped, null, $"{row.Agent} has {max} pending reminders, the most it may hold", now);
                return 0;
            }
            var reminder = change.QuerySingle<ReminderRow>($"""
                INSERT INTO reminders (agent, body, payload_path, due_at, created_at, attempt_count, recurring_id, missed_runs)
                VALUES (@Agent, @Body, @PayloadPath, @due, @now, 0, @Id, @missed)
                RETURNING {ReminderRow.Columns}
                """, new { row.Agent, row.Body, row.PayloadPath, due, now, row.Id, missed });
            RecurringReminders.RecordRun(change, row.Id, due, RunStates.Due, reminder.Id, note, now);
            change.Raise(new ReminderScheduled(reminder.View(fileRefs), RemindersSql.PendingFor(change, row.Agent)));
            return 1;
        }

        /// <summary>Why the last run still counts as pending, or null when it does not.</summary>
        private async Task<string?> LastRunPendingAsync(StateChange change, long id)
        {
            if (change.QuerySingle<long>("SELECT count(*) FROM reminders WHERE recurring_id = @id", new { id }) > 0)
                return "the last run's reminder is not delivered yet";
            var lastMessage = change.QuerySingleOrDefault<long?>("SELECT last_message_id FROM recurring_reminders WHERE id = @id", new { id });
            if (lastMessage is { } messageId && await mediator.Send(new IsMessagePending.Query(messageId), CancellationToken.None))
                return "the last run's message is not acknowledged yet";
            return null;
        }
    }
}
