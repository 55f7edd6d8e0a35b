using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Messages.Migrations;

/// <summary>
/// <c>meta</c>: a JSON object of extra wire fields written by the feature that sent a system message (a reminder's
/// id and payload refs, a question's id and answer refs). Messages stores it and shows it; it never interprets it.
/// </summary>
internal sealed class AddMessagesMeta : ICodeMigration
{
    public int Version => 2;
    public string Name => "add_messages_meta";

    public void Apply(SqliteConnection connection, SqliteTransaction transaction) =>
        SchemaProbe.AddColumnIfMissing(connection, transaction, "messages", "meta", "TEXT NULL");
}
