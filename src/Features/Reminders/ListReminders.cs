using Dapper;
using Hive.Features.StateFiles;
using Hive.Shared.Data;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>Every pending reminder, soonest first, failed ones included.</summary>
public static class ListReminders
{
    public sealed record Query : IRequest<IReadOnlyList<ReminderView>>;

    internal sealed class Handler(IDb db, IFileRefScanner fileRefs) : IRequestHandler<Query, IReadOnlyList<ReminderView>>
    {
        public async Task<IReadOnlyList<ReminderView>> Handle(Query query, CancellationToken cancellationToken)
        {
            const string sql = $"SELECT {ReminderRow.Columns} FROM reminders ORDER BY due_at, id;";
            using var connection = db.Open();
            var rows = await connection.QueryAsync<ReminderRow>(new CommandDefinition(sql, cancellationToken: cancellationToken));
            return rows.Select(r => r.View(fileRefs)).ToList();
        }
    }
}
