using Microsoft.Data.Sqlite;

namespace Hive.Shared.Data;

/// <summary>Opens connections to the hive's one SQLite database.</summary>
public interface IDb
{
    /// <summary>An open connection with the hive's per-connection pragmas applied. Dispose it to return it to the pool.</summary>
    SqliteConnection Open();

    /// <summary>
    /// Starts a read snapshot for this async flow: until the result is disposed, <see cref="Open"/> in this flow returns
    /// one shared connection inside one read transaction (WAL: every read sees the database as it was when this was
    /// called, whatever commits meanwhile). The cold-load snapshot takes it under the gate and reads after leaving it.
    /// </summary>
    IDisposable BeginReadSnapshot() => NoReadSnapshot.Instance;

    /// <summary>
    /// The host's busy background writers (the message writer, the search indexer, retention batches) take turns here
    /// before <c>BEGIN IMMEDIATE</c> and leave after the commit or rollback: one waiting here resumes the moment the one
    /// ahead of it leaves, where one waiting in the busy handler sleeps in growing steps (up to 5 ms, <see cref="BusyWait"/>) and polls.
    /// Only awaited, never a blocking wait: a state change does not take it (ADR 0027). Dispose it after the transaction.
    /// </summary>
    ValueTask<IDisposable> EnterWriteAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<IDisposable>(NoReadSnapshot.Instance);

    /// <summary>How many times a statement met another writer's lock and waited for it (<see cref="BusyWait"/>).</summary>
    long BusyWaits => 0;
}

internal sealed class NoReadSnapshot : IDisposable
{
    public static readonly NoReadSnapshot Instance = new();
    public void Dispose() { }
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
            DataSource = databasePath, // foreign_keys is among the pragmas below, set once per connection (else on every open)
            DefaultTimeout = (int)BusyWait.Limit.TotalSeconds, // Microsoft.Data.Sqlite's own retries after SQLITE_BUSY
            Pooling = true,
        }.ToString();
        _pragmas = $"PRAGMA foreign_keys=ON; PRAGMA synchronous={synchronous};";
    }

    /// <summary>
    /// Which hive's database set up each SQLite connection (Microsoft.Data.Sqlite's pool keeps them open between uses): its
    /// pragmas, its busy handler and its WAL hook, once per connection rather than a statement compiled on every open.
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, SqliteDb> Prepared = new();

    private readonly BusyWait.Count _busyWaits = new();

    public long BusyWaits => _busyWaits.Waits;

    /// <summary>Woken by a commit that let the log grow past <see cref="WalCheckpoints.BackgroundAt"/> frames.</summary>
    internal WalCheckpoints.Wanted CheckpointWanted { get; } = new();

    private void Prepare(SqliteConnection connection)
    {
        var handle = connection.Handle!;
        if (Prepared.TryGetValue(handle, out var preparedBy) && preparedBy == this) return;
        BusyWait.Install(handle, _busyWaits);
        WalCheckpoints.Install(handle, CheckpointWanted);
        using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
        Prepared.AddOrUpdate(handle, this);
    }

    private static readonly AsyncLocal<ReadSnapshotConnection?> CurrentSnapshot = new();

    /// <summary>As long as a connection's busy wait: a writer queued longer fails as one SQLite kept waiting would.</summary>
    private static readonly TimeSpan WriteWait = BusyWait.Limit;

    private readonly SemaphoreSlim _writer = new(1, 1);

    public async ValueTask<IDisposable> EnterWriteAsync(CancellationToken cancellationToken = default) =>
        await _writer.WaitAsync(WriteWait, cancellationToken) ? new WriteTurn(_writer) : throw Busy();

    private static SqliteException Busy() =>
        new($"database is locked: this process's other writers held it for {WriteWait.TotalSeconds:0} s", 5); // SQLITE_BUSY

    private sealed class WriteTurn(SemaphoreSlim writer) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0) writer.Release();
        }
    }

    public SqliteConnection Open()
    {
        if (CurrentSnapshot.Value is { IsLive: true } snapshot) return snapshot;
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            Prepare(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        return connection;
    }

    /// <summary>
    /// A connection outside the pool, with SQLite's own busy wait of <paramref name="patience"/> instead of the hive's
    /// (<see cref="BusyWait"/>, 30 s), no WAL hook and no pragmas: for a caller that would rather give up than hold others
    /// back (<see cref="WalCheckpointer"/>'s RESTART). The caller keeps it and disposes of it.
    /// </summary>
    internal SqliteConnection OpenUnpooled(TimeSpan patience)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString());
        try
        {
            connection.Open();
            var rc = SQLitePCL.raw.sqlite3_busy_timeout(connection.Handle, (int)patience.TotalMilliseconds);
            if (rc != SQLitePCL.raw.SQLITE_OK) throw new InvalidOperationException($"sqlite3_busy_timeout failed ({rc})");
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        return connection;
    }

    public IDisposable BeginReadSnapshot()
    {
        var connection = new ReadSnapshotConnection(_connectionString);
        try
        {
            connection.Open();
            Prepare(connection);
            using var command = connection.CreateCommand();
            // A deferred transaction takes its WAL read mark at its first read: that read is the snapshot's moment.
            command.CommandText = "BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema;";
            using (var reader = command.ExecuteReader()) while (reader.Read()) { }
        }
        catch
        {
            connection.CloseForReal();
            throw;
        }
        CurrentSnapshot.Value = connection;
        return new ReadSnapshotScope(connection);
    }

    private sealed class ReadSnapshotScope(ReadSnapshotConnection connection) : IDisposable
    {
        public void Dispose()
        {
            if (CurrentSnapshot.Value == connection) CurrentSnapshot.Value = null;
            connection.CloseForReal();
        }
    }

    /// <summary>Handed out by <see cref="Open"/> inside a read snapshot: readers' <c>using</c> must not end the snapshot.</summary>
    private sealed class ReadSnapshotConnection(string connectionString) : SqliteConnection(connectionString)
    {
        private bool _closed;
        public bool IsLive => !_closed;

        public override void Close() { }

        protected override void Dispose(bool disposing) { }

        public void CloseForReal()
        {
            if (_closed) return;
            _closed = true;
            try
            {
                if (State == System.Data.ConnectionState.Open)
                {
                    using var command = CreateCommand();
                    command.CommandText = "ROLLBACK;";
                    try { command.ExecuteNonQuery(); } catch (SqliteException) { } // no transaction open: nothing to end
                }
            }
            finally
            {
                base.Close();
                base.Dispose(true);
            }
        }
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
