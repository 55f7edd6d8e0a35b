using Dapper;
using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>
/// Recurring reminders, oldest first, each with its next three runs and latest runs: every one (the operator's list and
/// the snapshot), or one agent's (its <c>recurring_list</c> verb). <see cref="One"/> reads one with its whole kept history.
/// </summary>
public static class ListRecurringReminders
{
    public sealed record Query(string? Agent = null) : IRequest<IReadOnlyList<RecurringReminderView>>;

    /// <param name="Agent">When an agent asks: the reminder must be its own.</param>
    public sealed record One(long Id, string? Agent = null) : IRequest<RecurringReminderView>;

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs, TimeProvider clock)
        : IRequestHandler<Query, IReadOnlyList<RecurringReminderView>>, IRequestHandler<One, RecurringReminderView>
    {
        public Task<IReadOnlyList<RecurringReminderView>> Handle(Query query, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            using var connection = db.Open();
            var rows = connection.Query<RecurringRow>(
                $"SELECT {RecurringRow.Columns} FROM recurring_reminders WHERE @Agent IS NULL OR agent = @Agent ORDER BY id", query);
            IReadOnlyList<RecurringReminderView> views =
                rows.Select(r => r.View(fileRefs, now, RecurringReminders.Runs(connection, r.Id, RecurringReminders.ShownRuns))).ToList();
            return Task.FromResult(views);
        }

        public Task<RecurringReminderView> Handle(One query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var row = connection.QuerySingleOrDefault<RecurringRow>($"SELECT {RecurringRow.Columns} FROM recurring_reminders WHERE id = @Id", query);
            if (row is null || (query.Agent is not null && row.Agent != query.Agent))
                throw new NotFoundException($"no recurring reminder {query.Id}");
            return Task.FromResult(row.View(fileRefs, clock.GetUtcNow(), RecurringReminders.Runs(connection, row.Id, RecurringReminders.KeptRuns)));
        }
    }
}
