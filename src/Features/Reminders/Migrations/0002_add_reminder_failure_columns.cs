using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Reminders.Migrations;

/// <summary>
/// The failure surface (as the seed added it): <c>attempt_count</c> and <c>last_error</c>. Probes
/// <c>pragma table_info</c> before each ALTER, so a database that already has the columns and a fresh one converge.
/// </summary>
internal sealed class AddReminderFailureColumns : ICodeMigration
{
    public int Version => 2;
    public string Name => "add_reminder_failure_columns";

    public void Apply(SqliteConnection connection, SqliteTransaction transaction)
    {
        SchemaProbe.AddColumnIfMissing(connection, transaction, "reminders", "attempt_count", "INTEGER NOT NULL DEFAULT 0");
        SchemaProbe.AddColumnIfMissing(connection, transaction, "reminders", "last_error", "TEXT NULL");
    }
}
