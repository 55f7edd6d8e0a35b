using Dapper;
using Hive.Shared.Audit;
using Hive.Shared.Data;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Governance;

/// <summary>
/// The audit log's writer: one small insert per entry, on a connection of its own, after the action was answered (the
/// entry records the answer, so it cannot share the action's transaction; an action that failed is logged too). A
/// failed write is logged, never the caller's failure.
/// </summary>
internal sealed class AuditLog(IDb db, ILogger<AuditLog> logger) : IAuditLog
{
    public void Record(AuditEntry entry)
    {
        try
        {
            using var connection = db.Open();
            connection.Execute("INSERT INTO audit_log (at, actor, action, target, result) VALUES (@At, @Actor, @Action, @Target, @Result)", entry);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
        {
            logger.LogWarning("audit: {Actor} {Action} was not recorded: {Error}", entry.Actor, entry.Action, e.Message);
        }
    }
}
