using Microsoft.Data.Sqlite;

namespace Hive.Bench.Infrastructure;

/// <summary>A bench's look into a hive's own database (<c>&lt;DataDir&gt;/hive.db</c>) beside the running host: no pool, a busy timeout.</summary>
public static class HiveDatabase
{
    /// <param name="mode">Read-only while the host runs; read-write where a host killed mid-write may have left a WAL to recover.</param>
    public static SqliteConnection Open(string dataDir, SqliteOpenMode mode = SqliteOpenMode.ReadOnly)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDir, "hive.db"),
            Mode = mode,
            Pooling = false,
            DefaultTimeout = 5,
        }.ToString());
        connection.Open();
        using var busy = connection.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout=5000;";
        busy.ExecuteNonQuery();
        return connection;
    }

    public static long Scalar(string dataDir, string sql, SqliteOpenMode mode = SqliteOpenMode.ReadOnly)
    {
        using var connection = Open(dataDir, mode);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
