using Dapper;
using Hive.Features.Questions;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Features.Questions;

/// <summary>A database made by the first questions schema (with open questions in it) and a fresh one converge.</summary>
public sealed class QuestionMigrationTests : IDisposable
{
    private readonly List<string> _files = [];

    private SqliteDb NewDb()
    {
        DapperSetup.Configure();
        var path = Path.Combine(Path.GetTempPath(), $"hive-questions-{Guid.NewGuid():N}.db");
        _files.Add(path);
        var db = new SqliteDb(path, "NORMAL");
        db.EnableWriteAheadLog();
        return db;
    }

    private static IReadOnlyList<Migrator.Script> Scripts => Migrator.ScriptsOf(typeof(QuestionsFeature).Assembly);

    private static List<(long Cid, string Name, string Type, long NotNull, string? Default, long Pk)> TableInfo(IDb db)
    {
        using var connection = db.Open();
        return connection.Query<(long, string, string, long, string?, long)>(
            "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('questions') ORDER BY cid").ToList();
    }

    private static List<string> Indexes(IDb db)
    {
        using var connection = db.Open();
        return connection.Query<string>("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'questions' ORDER BY name").ToList();
    }

    [Fact]
    public void An_old_database_with_open_questions_converges_with_a_fresh_one_and_they_never_expire()
    {
        var fresh = NewDb();
        Migrator.Apply(fresh, Scripts, TimeProvider.System);

        var old = NewDb();
        Migrator.Apply(old, Scripts.Where(s => s.Version == 1), TimeProvider.System);
        using (var connection = old.Open())
            connection.Execute("INSERT INTO questions (asker, question, asked_at) VALUES ('alice', 'kept?', '2026-01-01T00:00:00.000Z')");
        Migrator.Apply(old, Scripts, TimeProvider.System);

        Assert.Equal(TableInfo(fresh), TableInfo(old));
        Assert.Equal(Indexes(fresh), Indexes(old));
        Assert.Contains(Indexes(fresh), sql => sql.Contains("questions_expiring", StringComparison.Ordinal));
        using var check = old.Open();
        Assert.Equal(((string?)null, 0L, (string?)null),
            check.QuerySingle<(string?, long, string?)>("SELECT options, multi, expires_at FROM questions WHERE question = 'kept?'"));
    }

    [Fact]
    public void A_database_that_already_has_the_columns_unjournaled_migrates_without_error()
    {
        var db = NewDb();
        Migrator.Apply(db, Scripts.Where(s => s.Version == 1), TimeProvider.System);
        using (var connection = db.Open())
            connection.Execute("ALTER TABLE questions ADD COLUMN expires_at TEXT NULL");
        Migrator.Apply(db, Scripts, TimeProvider.System);

        var fresh = NewDb();
        Migrator.Apply(fresh, Scripts, TimeProvider.System);
        Assert.Equal(TableInfo(fresh).Select(c => c.Name).Order(), TableInfo(db).Select(c => c.Name).Order());
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in _files)
            foreach (var path in new[] { file, file + "-wal", file + "-shm" })
                File.Delete(path);
    }
}
