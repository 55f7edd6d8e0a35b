using Dapper;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

/// <summary>
/// What <see cref="SqliteDb"/> sets on a connection once (ADR 0029) holds on every later open of the same pooled
/// connection: foreign keys enforced, the hive's synchronous level, its busy handler rather than SQLite's timeout.
/// </summary>
public sealed class ConnectionSetupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-connsetup-").FullName;
    private readonly SqliteDb _db;

    public ConnectionSetupTests()
    {
        _db = new SqliteDb(Path.Combine(_dir, "hive.db"), "FULL");
        _db.EnableWriteAheadLog();
        using var setup = _db.Open();
        setup.Execute("CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER NOT NULL REFERENCES parent (id));");
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Every_open_of_a_pooled_connection_keeps_what_was_set_on_its_first()
    {
        for (var open = 0; open < 3; open++)
        {
            using var connection = _db.Open();
            Assert.Equal(1, connection.QuerySingle<long>("PRAGMA foreign_keys"));
            Assert.Equal(2, connection.QuerySingle<long>("PRAGMA synchronous")); // FULL
            Assert.Equal(0, connection.QuerySingle<long>("PRAGMA busy_timeout")); // the hive's handler in its place
            var refused = Assert.Throws<SqliteException>(() => connection.Execute("INSERT INTO child (parent) VALUES (42)"));
            Assert.Equal(19, refused.SqliteErrorCode); // SQLITE_CONSTRAINT: no parent 42
        }
    }
}
