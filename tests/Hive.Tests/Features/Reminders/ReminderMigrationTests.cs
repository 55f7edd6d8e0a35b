using Dapper;
using Hive.Features.Reminders;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Features.Reminders;

/// <summary>A database created by the first reminders schema and a fresh one converge to the same schema.</summary>
public sealed class ReminderMigrationTests : IDisposable
{
    private readonly List<string> _files = [];

    private SqliteDb NewDb()
    {
        DapperSetup.Configure();
        var path = Path.Combine(Path.GetTempPath(), $"hive-reminders-{Guid.NewGuid():N}.db");
        _files.Add(path);
        var db = new SqliteDb(path, "NORMAL");
        db.EnableWriteAheadLog();
        return db;
    }

    private static IReadOnlyList<Migrator.Script> Scripts => Migrator.ScriptsOf(typeof(RemindersFeature).Assembly);

    private static List<(long Cid, string Name, string Type, long NotNull, string? Default, long Pk)> TableInfo(IDb db)
    {
        using var connection = db.Open();
        return connection.Query<(long, string, string, long, string?, long)>(
            "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('reminders') ORDER BY cid").ToList();
    }

    [Fact]
    public void The_second_migration_probes_table_info_before_altering()
    {
        Assert.Equal([1, 2, 3, 4, 5, 6], Scripts.Select(s => s.Version));
        Assert.NotNull(Scripts[1].Code); // code, because SQL cannot ask pragma table_info first
    }

    [Fact]
    public void An_old_database_with_rows_converges_with_a_fresh_one()
    {
        var fresh = NewDb();
        Migrator.Apply(fresh, Scripts, TimeProvider.System);

        var old = NewDb();
        Migrator.Apply(old, Scripts.Where(s => s.Version == 1), TimeProvider.System); // the first version of the feature
        using (var connection = old.Open())
            connection.Execute("INSERT INTO reminders (agent, body, due_at, created_at) VALUES ('alice', 'kept', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')");
        Migrator.Apply(old, Scripts, TimeProvider.System);

        Assert.Equal(TableInfo(fresh), TableInfo(old));
        using var check = old.Open();
        Assert.Equal((0L, (string?)null), check.QuerySingle<(long, string?)>("SELECT attempt_count, last_error FROM reminders WHERE body = 'kept'"));
    }

    [Fact]
    public void A_database_that_already_has_the_columns_unjournaled_migrates_without_error()
    {
        // As the seed did: columns added by an idempotent ALTER that left no journal row.
        var fresh = NewDb();
        Migrator.Apply(fresh, Scripts, TimeProvider.System);

        var patched = NewDb();
        Migrator.Apply(patched, Scripts.Where(s => s.Version == 1), TimeProvider.System);
        using (var connection = patched.Open())
            connection.Execute("ALTER TABLE reminders ADD COLUMN attempt_count INTEGER NOT NULL DEFAULT 0; ALTER TABLE reminders ADD COLUMN last_error TEXT NULL;");
        Migrator.Apply(patched, Scripts, TimeProvider.System);

        Assert.Equal(TableInfo(fresh), TableInfo(patched));
        using var journal = patched.Open();
        Assert.Equal(6, journal.QuerySingle<long>("SELECT max(version) FROM schema_migrations WHERE feature = 'Reminders'"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in _files)
            foreach (var suffix in new[] { "", "-wal", "-shm" })
                File.Delete(file + suffix);
    }
}
