using Dapper;
using Hive.Host;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

public sealed class MigratorTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"hive-migrate-{Guid.NewGuid():N}.db");
    private readonly SqliteDb _db;

    public MigratorTests()
    {
        DapperSetup.Configure();
        _db = new SqliteDb(_path, "NORMAL");
        _db.EnableWriteAheadLog();
    }

    [Fact]
    public void Applies_every_feature_script_once_and_journals_it()
    {
        Migrator.Migrate(_db, HiveFeatures.Assemblies, TimeProvider.System);
        Migrator.Migrate(_db, HiveFeatures.Assemblies, TimeProvider.System); // idempotent

        using var connection = _db.Open();
        var journal = connection.Query<(string Feature, long Version, string Name)>(
            "SELECT feature, version, name FROM schema_migrations ORDER BY feature, version").ToList();
        var expected = HiveFeatures.Assemblies.SelectMany(Migrator.ScriptsOf).Select(s => (s.Feature, (long)s.Version, s.Name)).OrderBy(x => x.Feature).ThenBy(x => x.Item2);
        Assert.Equal(expected, journal);
        Assert.Contains(("Messages", 1L, "create_messages"), journal);
        Assert.Equal("wal", connection.QuerySingle<string>("PRAGMA journal_mode"));
    }

    [Fact]
    public void Refuses_a_database_from_a_newer_build()
    {
        Migrator.Migrate(_db, HiveFeatures.Assemblies, TimeProvider.System);
        using (var connection = _db.Open())
            connection.Execute("INSERT INTO schema_migrations VALUES ('Messages', 999, 'from_the_future', '2030-01-01T00:00:00.000Z')");

        var error = Assert.Throws<InvalidOperationException>(() => Migrator.Migrate(_db, HiveFeatures.Assemblies, TimeProvider.System));
        Assert.Contains("newer than this build", error.Message);
    }

    [Fact]
    public void A_failing_script_leaves_no_trace()
    {
        var broken = new Migrator.Script("Broken", 1, "half_done", "CREATE TABLE half_done (id INTEGER); THIS IS NOT SQL;");
        Assert.ThrowsAny<SqliteException>(() => Migrator.Apply(_db, [broken], TimeProvider.System));
        using var connection = _db.Open();
        Assert.Equal(0, connection.QuerySingle<long>("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"));
        Assert.Equal(0, connection.QuerySingle<long>("SELECT count(*) FROM schema_migrations WHERE feature = 'Broken'"));
    }

    [Fact]
    public void Every_migration_file_follows_one_naming_scheme_and_code_migrations_match_their_file()
    {
        // NNNN_verb_object.sql or NNNN_verb_object.cs; a code migration's Version and Name are its file's.
        var root = Hive.Tests.Architecture.FeatureGraphTests.RepoRoot();
        var files = Directory.GetDirectories(Path.Combine(root, "src"), "Migrations", SearchOption.AllDirectories)
            .Where(d => !d.Contains("/obj/") && !d.Contains("/bin/"))
            .SelectMany(Directory.GetFiles)
            .ToList();
        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.Matches(@"^\d{4}_[a-z0-9]+(_[a-z0-9]+)*\.(sql|cs)$", Path.GetFileName(f)));

        var code = HiveFeatures.Assemblies.SelectMany(Migrator.ScriptsOf).Where(s => s.Code is not null).ToList();
        Assert.NotEmpty(code);
        Assert.All(code, s => Assert.Contains(files, f => Path.GetFileName(f) == $"{s.Version:0000}_{s.Name}.cs"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(_path + suffix);
    }
}
