using Dapper;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Questions.Migrations;

/// <summary>
/// Options and a deadline: <c>options</c> (a JSON array of strings, NULL when none), <c>multi</c> (0/1) and
/// <c>expires_at</c> (NULL = never), plus the partial index the expiry sweep reads. Probes <c>pragma table_info</c>
/// before each ALTER, so a database that already has a column and a fresh one converge.
/// </summary>
internal sealed class AddQuestionOptionsAndDeadline : ICodeMigration
{
    public int Version => 2;
    public string Name => "add_question_options_and_deadline";

    public void Apply(SqliteConnection connection, SqliteTransaction transaction)
    {
        SchemaProbe.AddColumnIfMissing(connection, transaction, "questions", "options", "TEXT NULL");
        SchemaProbe.AddColumnIfMissing(connection, transaction, "questions", "multi", "INTEGER NOT NULL DEFAULT 0");
        SchemaProbe.AddColumnIfMissing(connection, transaction, "questions", "expires_at", "TEXT NULL");
        // Only open questions with a deadline: the sweep's "due" query is a range scan over exactly those.
        connection.Execute(
            "CREATE INDEX IF NOT EXISTS questions_expiring ON questions (expires_at) WHERE answered_at IS NULL AND expires_at IS NOT NULL",
            transaction: transaction);
    }
}
