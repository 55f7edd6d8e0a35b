using Microsoft.Data.Sqlite;

namespace Hive.Shared.Data;

/// <summary>Opens connections to the hive's one SQLite database.</summary>
public interface IDb
{
    /// <summary>An open connection with the hive's per-connection pragmas applied. Dispose it to return it to the pool.</summary>
    SqliteConnection Open();
}

public sealed class SqliteDb : IDb
{
    private readonly string _connectionString;
    private readonly string _pragmas;

    public SqliteDb(string databasePath, string synchronous)
    {
        if (synchronous is not ("NORMAL" or "FULL" or "EXTRA" or "OFF"))
            throw new ArgumentException($"Hive:Database:Synchronous must be NORMAL or FULL, not '{synchronous}'");
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            ForeignKeys = true,
            DefaultTimeout = 5,
            Pooling = true,
        }.ToString();
        // synchronous and busy_timeout are per connection; a pooled connection may be new, so set them on every open.
        _pragmas = $"PRAGMA synchronous={synchronous}; PRAGMA busy_timeout=5000;";
    }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
        return connection;
    }

    /// <summary>WAL is a property of the database file: set it once, before anything else touches the file.</summary>
    public void EnableWriteAheadLog()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        using var reader = command.ExecuteReader();
        while (reader.Read()) { }
    }
}
