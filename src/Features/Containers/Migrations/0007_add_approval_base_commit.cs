using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Containers.Migrations;

/// <summary>
/// <c>approvals.base_commit</c>: for a <c>config_commit</c>, <c>main</c> as the proposal was diffed against. Approving is
/// refused as stale once the agent's file on <c>main</c> is no longer the one there (approving would undo that change).
/// NULL for other kinds, and for proposals made before this column (their proposal commit's parent is the same commit).
/// Probes <c>pragma table_info</c> first, so a database that already has the column and a fresh one converge.
/// </summary>
internal sealed class AddApprovalBaseCommit : ICodeMigration
{
    public int Version => 7;
    public string Name => "add_approval_base_commit";

    public void Apply(SqliteConnection connection, SqliteTransaction transaction) =>
        SchemaProbe.AddColumnIfMissing(connection, transaction, "approvals", "base_commit", "TEXT NULL");
}
