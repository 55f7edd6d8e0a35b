using Dapper;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

/// <summary>
/// The hive's own connection pool: a connection goes back open, with its pragmas and its prepared statements, and must
/// come out as clean as a new one (no transaction, no reader's snapshot, no last call's parameters), and a borrower that
/// uses it after giving it back must fail rather than share it with the next.
/// </summary>
public sealed class PooledConnectionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-pool-").FullName;
    private readonly string _path;
    private readonly SqliteDb _db;

    public PooledConnectionTests()
    {
        _path = Path.Combine(_dir, "hive.db");
        _db = new SqliteDb(_path, "NORMAL");
        _db.EnableWriteAheadLog();
        using var setup = _db.Open();
        setup.Execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
    }

    public void Dispose()
    {
        _db.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private long Count()
    {
        using var connection = _db.Open();
        return connection.QuerySingle<long>("SELECT count(*) FROM t");
    }

    private void InsertElsewhere(long x)
    {
        using var other = new SqliteConnection($"Data Source={_path};Pooling=False");
        other.Open();
        other.Execute("INSERT INTO t VALUES (@x)", new { x });
    }

    [Fact]
    public void A_connection_given_back_is_lent_again_with_its_pragmas_set()
    {
        SqliteConnection first;
        using (first = _db.Open()) Assert.Equal(30000, first.QuerySingle<long>("PRAGMA busy_timeout"));
        using var again = _db.Open();
        Assert.Same(first, again);
        Assert.Equal(30000, again.QuerySingle<long>("PRAGMA busy_timeout"));
        Assert.Equal(1, again.QuerySingle<long>("PRAGMA foreign_keys"));
    }

    [Fact]
    public void A_transaction_left_open_is_rolled_back_when_the_connection_is_given_back()
    {
        SqliteConnection first;
        using (first = _db.Open())
        {
            var transaction = first.BeginTransaction(deferred: false);
            first.Execute("INSERT INTO t VALUES (2)", transaction: transaction);
        }
        Assert.Equal(1, Count());
        using var next = _db.Open();
        Assert.Same(first, next);
        using var transaction2 = next.BeginTransaction(deferred: false); // would throw if one were still open
        next.Execute("INSERT INTO t VALUES (3)", transaction: transaction2);
        transaction2.Commit();
        Assert.Equal(2, Count());
    }

    [Fact]
    public void A_raw_BEGIN_left_open_is_not_lent_with_the_connection()
    {
        SqliteConnection first;
        using (first = _db.Open()) first.Execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (2);");
        using var next = _db.Open();
        Assert.NotSame(first, next);
        Assert.Equal(1, next.QuerySingle<long>("SELECT count(*) FROM t"));
        next.Execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (3); COMMIT;");
        Assert.Equal(2, next.QuerySingle<long>("SELECT count(*) FROM t"));
    }

    [Fact]
    public void A_reader_left_open_does_not_hold_its_snapshot_into_the_next_lending()
    {
        SqliteConnection connection;
        using (connection = _db.Open())
        {
            var command = connection.CreateCommand();
            command.CommandText = "SELECT x FROM t";
            var reader = command.ExecuteReader();
            Assert.True(reader.Read()); // the statement is mid-step: it holds a read transaction
        }
        InsertElsewhere(2);
        using var again = _db.Open();
        Assert.Same(connection, again);
        Assert.Equal(2, again.QuerySingle<long>("SELECT count(*) FROM t")); // lent again, it sees the commit
    }

    [Fact]
    public void A_Dapper_reader_left_open_does_not_hold_its_snapshot_either()
    {
        SqliteConnection connection;
        using (connection = _db.Open())
        {
            var reader = connection.ExecuteReader("SELECT x FROM t");
            Assert.True(reader.Read());
        }
        InsertElsewhere(2);
        using var again = _db.Open();
        Assert.Same(connection, again);
        Assert.Equal(2, again.QuerySingle<long>("SELECT count(*) FROM t"));
    }

    [Fact]
    public void A_kept_statement_read_only_in_part_holds_no_snapshot_after_its_call()
    {
        InsertElsewhere(2); // two rows: QueryFirst steps the statement once and stops
        SqliteConnection connection;
        using (connection = _db.Open())
        {
            Assert.Equal(1, connection.QueryFirst<long>("SELECT x FROM t ORDER BY x"));
            InsertElsewhere(3);
            Assert.Equal(3, connection.QuerySingle<long>("SELECT count(*) FROM t")); // the same lending sees the commit
        }
        InsertElsewhere(4);
        using var again = _db.Open();
        Assert.Same(connection, again);
        Assert.Equal(4, again.QuerySingle<long>("SELECT count(*) FROM t")); // and so does the next
    }

    [Fact]
    public void Dapper_statements_stay_prepared_on_the_connection_and_are_reused()
    {
        SqliteConnection connection;
        long afterFirst;
        using (connection = _db.Open())
        {
            var before = StatementMemory(connection);
            Assert.Equal(1, connection.QuerySingle<long>("SELECT count(*) FROM t WHERE x >= @min", new { min = 0 }));
            afterFirst = StatementMemory(connection);
            Assert.True(afterFirst > before, $"the statement was finalized after its call ({before} -> {afterFirst} bytes)");
            for (var min = 1; min <= 50; min++)
                Assert.Equal(min <= 1 ? 1 : 0, connection.QuerySingle<long>("SELECT count(*) FROM t WHERE x >= @min", new { min }));
            Assert.Equal(afterFirst, StatementMemory(connection)); // one statement, run 51 times
        }
        using var again = _db.Open();
        Assert.Same(connection, again);
        Assert.Equal(1, again.QuerySingle<long>("SELECT count(*) FROM t WHERE x >= @min", new { min = 1 }));
        Assert.Equal(afterFirst, StatementMemory(again));

        // SQLite's own count of the heap its prepared statements hold on this connection.
        static long StatementMemory(SqliteConnection connection)
        {
            Assert.Equal(0, SQLitePCL.raw.sqlite3_db_status(connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_STMT_USED, out var used, out _, 0));
            return used;
        }
    }

    [Fact]
    public void A_Dapper_call_inside_a_transaction_runs_in_it_without_being_handed_it()
    {
        using (var connection = _db.Open())
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            connection.Execute("INSERT INTO t VALUES (2)"); // as Microsoft.Data.Sqlite's own commands, it takes the open one
            Assert.Equal(2, connection.QuerySingle<long>("SELECT count(*) FROM t"));
            transaction.Rollback();
        }
        Assert.Equal(1, Count());
    }

    [Fact]
    public void A_command_that_reads_nothing_stays_usable_on_the_connections_next_lending()
    {
        SqliteConnection connection;
        SqliteCommand insert;
        using (connection = _db.Open())
        {
            insert = connection.CreateCommand(); // kept by its maker, as the search index keeps its inserts
            insert.CommandText = "INSERT INTO t VALUES (2)";
            insert.ExecuteNonQuery();
        }
        using (var again = _db.Open())
        {
            Assert.Same(connection, again);
            insert.ExecuteNonQuery();
            Assert.Equal(3, again.QuerySingle<long>("SELECT count(*) FROM t"));
        }
        // Its statement is still the connection's: closing the database finalizes it, so the file is closed for real
        // (SQLite removes the write-ahead log only when the last connection to it is closed).
        _db.Dispose();
        Assert.False(File.Exists(_path + "-wal"));
        GC.KeepAlive(insert);
    }

    [Fact]
    public void A_kept_statement_forgets_the_last_calls_parameters()
    {
        using var connection = _db.Open();
        const string sql = "SELECT @a + @b";
        Assert.Equal(3, connection.QuerySingle<long>(sql, new { a = 1, b = 2 }));
        Assert.Equal(30, connection.QuerySingle<long>(sql, new { a = 10, b = 20 }));
        // Without b: the kept statement still holds b = 20 in SQLite, and the call must fail as a fresh command's would.
        var error = Assert.Throws<InvalidOperationException>(() => connection.QuerySingle<long>(sql, new { a = 5 }));
        Assert.Contains("@b", error.Message);
    }

    [Fact]
    public void The_same_SQL_runs_again_while_its_kept_statement_is_still_reading()
    {
        using var connection = _db.Open();
        connection.Execute("INSERT INTO t VALUES (2), (3)");
        const string sql = "SELECT x FROM t WHERE x >= @min ORDER BY x";
        var pairs = new List<(long Outer, long Inner)>();
        foreach (var outer in connection.Query<long>(sql, new { min = 1 }, buffered: false))
            pairs.Add((outer, connection.Query<long>(sql, new { min = outer }).Count()));
        Assert.Equal([(1, 3), (2, 2), (3, 1)], pairs);
        Assert.Equal([1L, 2, 3], connection.Query<long>(sql, new { min = 0 }));
    }

    [Fact]
    public void A_kept_statement_sees_a_schema_change()
    {
        using (var connection = _db.Open()) Assert.Equal(["x"], ColumnNames(connection));
        using (var connection = _db.Open()) connection.Execute("ALTER TABLE t ADD COLUMN y TEXT");
        using (var connection = _db.Open()) Assert.Equal(["x", "y"], ColumnNames(connection));

        static List<string> ColumnNames(SqliteConnection connection)
        {
            using var reader = connection.ExecuteReader("SELECT * FROM t");
            return Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        }
    }

    [Fact]
    public void A_connection_used_after_it_was_given_back_fails_while_it_waits_idle()
    {
        var connection = _db.Open();
        connection.Dispose();
        var error = Assert.Throws<InvalidOperationException>(() => connection.QuerySingle<long>("SELECT count(*) FROM t"));
        Assert.Contains("given back", error.Message);
        using var next = _db.Open();
        Assert.Equal(1, next.QuerySingle<long>("SELECT count(*) FROM t"));
    }

    [Fact]
    public void Disposing_the_database_closes_its_idle_connections()
    {
        using (var connection = _db.Open()) connection.Execute("INSERT INTO t VALUES (2)");
        Assert.True(File.Exists(_path + "-wal"));
        _db.Dispose();
        // SQLite checkpoints and removes the write-ahead log when the last connection to the file closes.
        Assert.False(File.Exists(_path + "-wal"));
        // A late borrower (a background loop still stopping) still gets a connection; it is closed when given back.
        using (var late = _db.Open()) Assert.Equal(2, late.QuerySingle<long>("SELECT count(*) FROM t"));
        Assert.False(File.Exists(_path + "-wal"));
    }
}
