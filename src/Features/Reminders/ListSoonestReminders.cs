using Dapper;
using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>The snapshot's reminders: the <c>Count</c> soonest (by the scheduler's index) and how many are pending in all.</summary>
public static class ListSoonestReminders
{
    public sealed record Query(int Count) : IRequest<Result>;

    public sealed record Result(IReadOnlyList<ReminderView> Reminders, long Total);

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            const string soonest = $"SELECT {ReminderRow.Columns} FROM reminders ORDER BY due_at, id LIMIT @Count;";
            // reminder_pending is kept by triggers: one row per agent, not one per reminder.
            const string total = "SELECT coalesce(sum(pending), 0) FROM reminder_pending;";
            using var connection = db.Open();
            var rows = await connection.QueryAsync<ReminderRow>(new CommandDefinition(soonest, query, cancellationToken: cancellationToken));
            var count = await connection.QuerySingleAsync<long>(new CommandDefinition(total, cancellationToken: cancellationToken));
            return new Result(rows.Select(r => r.View(fileRefs)).ToList(), count);
        }
    }
}
