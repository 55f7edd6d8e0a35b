using System.Data;
using Dapper;
using Hive.Shared.Changes;

namespace Hive.Features.Reminders;

/// <summary>SQL used by more than one reminder slice.</summary>
internal static class RemindersSql
{
    // reminder_pending is kept by triggers (0003): a count(*) here made delivering N reminders of one agent O(N^2).
    private const string Pending = "SELECT coalesce((SELECT pending FROM reminder_pending WHERE agent = @agent), 0)";

    public static long PendingFor(IDbConnection connection, string agent) => connection.QuerySingle<long>(Pending, new { agent });

    public static long PendingFor(StateChange change, string agent) => change.QuerySingle<long>(Pending, new { agent });
}
