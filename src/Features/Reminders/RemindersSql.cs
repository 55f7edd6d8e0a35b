using System.Data;
using Dapper;

namespace Hive.Features.Reminders;

/// <summary>SQL used by more than one reminder slice.</summary>
internal static class RemindersSql
{
    public const string SelectById = $"SELECT {ReminderRow.Columns} FROM reminders WHERE id = @Id;";

    public static long PendingFor(IDbConnection connection, string agent, IDbTransaction? transaction = null) =>
        connection.QuerySingle<long>("SELECT count(*) FROM reminders WHERE agent = @agent", new { agent }, transaction);
}
