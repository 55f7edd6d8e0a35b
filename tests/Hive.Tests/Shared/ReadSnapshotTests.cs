using Dapper;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

/// <summary>
/// The cold load's read transaction: begun under the gate, read after it; a commit in between must
/// not show, and readers' <c>using</c> must not end it early.
/// </summary>
public sealed class ReadSnapshotTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-readsnap-").FullName;
    private readonly SqliteDb _db;

    public ReadSnapshotTests()
    {
        _db = new SqliteDb(Path.Combine(_dir, "hive.db"), "NORMAL");
        _db.EnableWriteAheadLog();
        using var setup = _db.Open();
        setup.Execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private long Count()
    {
        using var connection = _db.Open();
        return connection.QuerySingle<long>("SELECT count(*) FROM t");
    }

    [Fact]
    public async Task Reads_in_the_snapshot_see_the_database_as_it_was_when_it_began()
    {
        using (_db.BeginReadSnapshot())
        {
            // Another flow commits meanwhile.
            await Task.Run(() =>
            {
                using var writer = new SqliteConnection($"Data Source={Path.Combine(_dir, "hive.db")};Pooling=False");
                writer.Open();
                writer.Execute("INSERT INTO t VALUES (2);");
            });
            Assert.Equal(1, Count());
            await Task.Yield();
            Assert.Equal(1, Count()); // still the same transaction after a reader disposed its connection
            // A connection outside the snapshot sees the commit.
            using var outside = new SqliteConnection($"Data Source={Path.Combine(_dir, "hive.db")};Pooling=False");
            outside.Open();
            Assert.Equal(2, outside.QuerySingle<long>("SELECT count(*) FROM t"));
        }
        Assert.Equal(2, Count());
    }
}
