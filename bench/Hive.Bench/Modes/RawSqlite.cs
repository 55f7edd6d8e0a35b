using System.Diagnostics;
using Hive.Bench.Infrastructure;
using Hive.Contracts.Json;
using Hive.Features.Messages;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Bench.Modes;

/// <summary>
/// The floor the broker is compared with: Microsoft.Data.Sqlite on its own database file, the host's pragmas and
/// the host's own <c>messages</c> schema (applied from the Messages assembly's embedded migrations, so it cannot
/// drift), one row per <c>BEGIN IMMEDIATE / INSERT / COMMIT</c>.
/// </summary>
internal sealed class RawSqlite : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly string _synchronous;

    /// <param name="indexed">With the search slice's tables as well (<c>search_entries</c> and the FTS5 <c>search_text</c>), for the floor that indexes each send as the host must.</param>
    public RawSqlite(string databasePath, string synchronous, bool indexed = false)
    {
        Indexed = indexed;
        DatabasePath = databasePath;
        Directory.CreateDirectory(Path.GetDirectoryName(databasePath)!);
        // The same connection string and per-connection pragmas as Hive.Shared.Data.SqliteDb.
        _synchronous = synchronous;
        _connection = OpenConnection();
        Execute(_connection, "PRAGMA journal_mode=WAL;");
        var assemblies = indexed ? [typeof(MessagesFeature).Assembly, typeof(Hive.Features.Search.FindText).Assembly] : new[] { typeof(MessagesFeature).Assembly };
        foreach (var script in assemblies.SelectMany(Migrator.ScriptsOf))
        {
            using var transaction = _connection.BeginTransaction();
            if (script.Code is { } code) code.Apply(_connection, transaction);
            else new Microsoft.Data.Sqlite.SqliteCommand(script.Sql, _connection, transaction).ExecuteNonQuery();
            transaction.Commit();
        }
    }

    public string DatabasePath { get; }

    public bool Indexed { get; }

    /// <summary>The open connection, for a caller that writes its own statements (the group-commit floor).</summary>
    internal SqliteConnection Connection => _connection;

    /// <summary>
    /// A connection to the file with the per-connection pragmas: <see cref="Connection"/>'s, and another for a second
    /// writer thread (the floor's indexer).
    /// </summary>
    internal SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            ForeignKeys = true,
            DefaultTimeout = 5,
            Pooling = true,
        }.ToString());
        connection.Open();
        Execute(connection, $"PRAGMA synchronous={_synchronous}; PRAGMA busy_timeout=5000;");
        return connection;
    }
    public long WalBytes => File.Exists(DatabasePath + "-wal") ? new FileInfo(DatabasePath + "-wal").Length : 0;

    /// <summary>
    /// Inserts single-row transactions until <paramref name="duration"/> has passed; returns (rows, elapsed ticks).
    /// When <paramref name="commitLatencies"/> is given, each transaction's BEGIN-to-COMMIT time (ms) is added to it.
    /// </summary>
    public (long Rows, long Elapsed) Run(TimeSpan duration, string sender, string recipient, string body, List<double>? commitLatencies = null)
    {
        using var begin = Command("BEGIN IMMEDIATE;");
        using var commit = Command("COMMIT;");
        using var insert = Command("""
            INSERT INTO messages (sender, recipient, kind, body, sent_at)
            VALUES ($sender, $recipient, $kind, $body, $sent_at);
            """);
        insert.Parameters.AddWithValue("$sender", sender);
        insert.Parameters.AddWithValue("$recipient", recipient);
        insert.Parameters.AddWithValue("$kind", MessageKinds.Message);
        insert.Parameters.AddWithValue("$body", body);
        var sentAt = insert.Parameters.AddWithValue("$sent_at", "");
        begin.Prepare();
        commit.Prepare();
        insert.Prepare();

        long rows = 0;
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var latencies = commitLatencies is null ? null : new List<long>(1 << 16);
        var now = started;
        do
        {
            var before = now;
            begin.ExecuteNonQuery();
            sentAt.Value = UtcTimestamp.Format(DateTimeOffset.UtcNow);
            insert.ExecuteNonQuery();
            commit.ExecuteNonQuery();
            rows++;
            now = Stopwatch.GetTimestamp();
            latencies?.Add(now - before);
        } while (now < deadline);
        if (latencies is not null) commitLatencies!.AddRange(latencies.Select(Stats.Ms));
        return (rows, now - started);
    }

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        do { while (reader.Read()) { } } while (reader.NextResult()); // every statement to its end
    }

    public void Dispose() => _connection.Dispose();
}
