using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Architecture;

public sealed class TableOwnershipTests
{
    private static IReadOnlyList<TableOwnershipRule.Feature> RealHive() =>
        HiveSources.Assemblies
            .Select(a => new TableOwnershipRule.Feature(HiveSources.NameOf(a), Migrator.ScriptsOf(a), HiveSources.FilesOf(a, ".cs", ".sql")))
            .ToList();

    [Fact]
    public void Each_feature_touches_only_the_tables_its_own_migrations_created()
    {
        var result = TableOwnershipRule.Check(RealHive());

        Assert.True(result.Violations.Count == 0, string.Join(Environment.NewLine, result.Violations));
        // The schema really was attributed, code migrations and triggers included.
        var owners = result.Schema.ToDictionary(o => $"{o.Type} {o.Name}", o => o.Owner);
        Assert.Equal("Hive.Shared", owners["table schema_migrations"]);
        Assert.Equal("Hive.Features.Messages", owners["table messages"]);
        Assert.Equal("Hive.Features.Reminders", owners["trigger reminders_pending_insert"]);
        Assert.Equal("Hive.Features.Questions", owners["index questions_pending"]);
        Assert.Contains("meta TEXT NULL", result.Schema.Single(o => o.Name == "messages").Sql); // 0002_AddMessagesMeta.cs ran
    }

    private const string FakeMigration = """
        CREATE TABLE "fake things" (id INTEGER PRIMARY KEY, message_id INTEGER);
        CREATE TRIGGER fake_spy AFTER INSERT ON messages BEGIN
            INSERT INTO "fake things" (message_id) VALUES (NEW.id);
        END;
        CREATE INDEX fake_by_agent ON [reminders] (agent);
        CREATE TRIGGER fake_sweep AFTER INSERT ON "fake things" BEGIN
            DELETE FROM `questions` WHERE asker = 'nobody';
        END;
        """;

    private const string FakeSource = """"
        internal static class Snoop
        {
            // copied from messages (a comment, not SQL: not reported)
            public const string Open = """SELECT * FROM "questions" WHERE answered_at IS NULL""";
            public const string Journal = "SELECT max(version) FROM main.schema_migrations";
            public const string Own = "SELECT * FROM [fake things] f, 'fake things' g";
        }
        """";

    /// <summary>A code migration that adds a column to another feature's table (as SchemaProbe makes easy).</summary>
    private sealed class WidenMessages : ICodeMigration
    {
        public int Version => 2;
        public string Name => "widen_messages";
        public void Apply(SqliteConnection connection, SqliteTransaction transaction) =>
            SchemaProbe.AddColumnIfMissing(connection, transaction, "messages", "fake_flag", "INTEGER NULL");
    }

    [Fact]
    public void Reports_objects_on_other_tables_a_changed_table_and_sql_naming_other_tables()
    {
        var fake = new TableOwnershipRule.Feature(
            "Hive.Features.Fake",
            [new Migrator.Script("Fake", 1, "create_fake", FakeMigration), new Migrator.Script("Fake", 2, "widen_messages", null, new WidenMessages())],
            [("src/Features/Fake/Migrations/0001_create_fake.sql", FakeMigration), ("src/Features/Fake/Snoop.cs", FakeSource)]);

        var violations = TableOwnershipRule.Check([.. RealHive(), fake]).Violations;

        Assert.Equal(
            [
                // from sqlite_master: what the fake's migrations created, and what they changed
                "Hive.Features.Fake: its migrations change table messages of Hive.Features.Messages",
                "Hive.Features.Fake: trigger fake_spy is ON messages, a table of Hive.Features.Messages",
                "Hive.Features.Fake: index fake_by_agent is ON reminders, a table of Hive.Features.Reminders",
                "Hive.Features.Fake: trigger fake_sweep names questions, a table of Hive.Features.Questions, in its SQL",
                // from the source text, the migration script included
                "Hive.Features.Fake: src/Features/Fake/Migrations/0001_create_fake.sql:2 names messages, a table of Hive.Features.Messages, in SQL",
                "Hive.Features.Fake: src/Features/Fake/Migrations/0001_create_fake.sql:5 names reminders, a table of Hive.Features.Reminders, in SQL",
                "Hive.Features.Fake: src/Features/Fake/Migrations/0001_create_fake.sql:7 names questions, a table of Hive.Features.Questions, in SQL",
                "Hive.Features.Fake: src/Features/Fake/Snoop.cs:4 names questions, a table of Hive.Features.Questions, in SQL",
                "Hive.Features.Fake: src/Features/Fake/Snoop.cs:5 names schema_migrations, a table of Hive.Shared, in SQL",
            ],
            violations);
    }
}
