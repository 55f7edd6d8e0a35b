using System.Data;
using Dapper;

namespace Hive.Features.Reminders;

/// <summary>SQL used by more than one reminder slice.</summary>
internal static class RemindersSql
{
    public const string SelectById = $"SELECT {ReminderRow.Columns} FROM reminders WHERE id = @Id;";

    public static long PendingFor(IDbConnection connection, string agent, IDbTransaction? transaction = null) =>
                // reminder_pending is kept by triggers (0003): a count(*) here made delivering N reminders of one agent O(N^2).
        connection.QuerySingle<long>("SELECT coalesce((SELECT pending FROM reminder_pending WHERE agent = @agent), 0)", new { agent }, transaction);
}
