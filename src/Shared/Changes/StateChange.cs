using Dapper;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Data.Sqlite;

namespace Hive.Shared.Changes;

/// <summary>
/// One running state change: a connection and a transaction (opened on first use, so a change that writes through
/// something else, like the message writer, costs no connection), and the notifications raised so far, published by
/// <see cref="StateChanges"/> only after the commit. Handlers get it from <see cref="StateChanges.Current"/>.
/// </summary>
public sealed class StateChange : IDisposable
{
    private enum Phase { Running, Publishing, Done }

    private readonly IDb _db;
    private readonly List<INotification> _raised = [];
    private readonly List<Action> _afterPublished = [];
    private readonly List<Action> _onRolledBack = [];
    private SqliteConnection? _connection;
    private SqliteTransaction? _transaction;
    private int _savepoints;
    private int _changesAtBegin;
    private Phase _phase = Phase.Running;

    internal StateChange(IDb db) => _db = db;

    /// <summary>Handlers may join it: its transaction is still open.</summary>
    internal bool IsRunning => _phase == Phase.Running;

    /// <summary>It holds the snapshot gate for its flow: running, or publishing what it raised.</summary>
    internal bool HoldsGate => _phase is Phase.Running or Phase.Publishing;

    /// <summary>The change's connection, inside its transaction (BEGIN IMMEDIATE: writers queue on the lock, never deadlock).</summary>
    public SqliteConnection Connection
    {
        get
        {
            Open();
            return _connection!;
        }
    }

    public SqliteTransaction Transaction
    {
        get
        {
            Open();
            return _transaction!;
        }
    }

    /// <summary>Buffered, so a <c>RETURNING</c> statement is read to its end (an open statement stops WAL checkpoints).</summary>
    public List<T> Query<T>(string sql, object? args = null) => Connection.Query<T>(sql, args, Transaction).AsList();

    public T QuerySingle<T>(string sql, object? args = null) => Query<T>(sql, args).Single();

    public T? QuerySingleOrDefault<T>(string sql, object? args = null) => Query<T>(sql, args).SingleOrDefault();

    public int Execute(string sql, object? args = null) => Connection.Execute(sql, args, Transaction);

    /// <summary>Published after the commit, in the order raised; dropped if the change rolls back.</summary>
    public void Raise(INotification notification)
    {
        if (!IsRunning) throw new InvalidOperationException("a notification can only be raised while its change runs");
        _raised.Add(notification);
    }

    /// <summary>
    /// An in-process effect that must follow this change's events, e.g. waking a parked <c>recv</c>: woken earlier,
    /// it could take the message and publish <c>delivered</c> before <c>sent</c> is out. Dropped on rollback.
    /// </summary>
    public void AfterPublished(Action effect)
    {
        if (!IsRunning) throw new InvalidOperationException("an effect can only be added while its change runs");
        _afterPublished.Add(effect);
    }

    /// <summary>
    /// Undoes something this change did outside the database (a file it wrote) if the change never commits, or if the
    /// nested request that did it fails: the database forgets the row, and this forgets the file. Runs at most once, in
    /// reverse order of registration; it must not throw (it runs while the change unwinds).
    /// </summary>
    public void OnRolledBack(Action undo)
    {
        if (!IsRunning) throw new InvalidOperationException("an undo can only be added while its change runs");
        _onRolledBack.Add(undo);
    }

    private void Open()
    {
        if (!IsRunning) throw new InvalidOperationException("this state change has already committed or rolled back");
        if (_connection is not null) return;
        _connection = _db.Open();
        _transaction = _connection.BeginTransaction(deferred: false);
        _changesAtBegin = SQLitePCL.raw.sqlite3_total_changes(_connection.Handle);
    }

    /// <summary>
    /// Runs a nested request inside this change. Its writes sit behind a savepoint and its notifications are dropped
    /// if it throws, so a caller that handles the failure carries on as if the nested request never ran.
    /// </summary>
    internal async Task<T> JoinAsync<T>(Func<Task<T>> work)
    {
        var raisedBefore = _raised.Count;
        var effectsBefore = _afterPublished.Count;
        var undosBefore = _onRolledBack.Count;
        var savepoint = _transaction is null ? null : "nested_" + ++_savepoints;
        if (savepoint is not null) _transaction!.Save(savepoint);
        try
        {
            var result = await work();
            if (savepoint is not null) _transaction!.Release(savepoint);
            return result;
        }
        catch
        {
            _raised.RemoveRange(raisedBefore, _raised.Count - raisedBefore);
            _afterPublished.RemoveRange(effectsBefore, _afterPublished.Count - effectsBefore);
            Undo(undosBefore);
            if (savepoint is not null) _transaction!.Rollback(savepoint);
            else CloseConnection(); // the transaction began inside the failed request: nothing of the caller's is in it
            throw;
        }
    }

    /// <summary>Whether the commit wrote rows (a look that found nothing commits an empty transaction, which proves nothing about the disk).</summary>
    internal bool Wrote { get; private set; }

    internal void Commit()
    {
        var wrote = _connection is not null && SQLitePCL.raw.sqlite3_total_changes(_connection.Handle) != _changesAtBegin;
        _transaction?.Commit();
        _onRolledBack.Clear(); // committed: nothing to undo any more
        Wrote = wrote;
        CloseConnection();
        _phase = Phase.Publishing;
    }

    /// <summary>What the running change has raised so far (for its witnesses, before the commit).</summary>
    internal IReadOnlyList<INotification> RaisedSoFar => _raised;

    /// <summary>The raised notifications, once: the change is committed and publishing.</summary>
    internal IReadOnlyList<INotification> Raised => _phase == Phase.Publishing ? _raised : [];

    internal IReadOnlyList<Action> EffectsAfterPublished => _phase == Phase.Publishing ? _afterPublished : [];

    public void Dispose()
    {
        if (_phase == Phase.Running) Undo(0); // never committed: rolled back below
        _phase = Phase.Done;
        CloseConnection(); // disposing an uncommitted transaction rolls it back
        _raised.Clear();
        _afterPublished.Clear();
    }

    private void Undo(int from)
    {
        for (var i = _onRolledBack.Count - 1; i >= from; i--) _onRolledBack[i]();
        _onRolledBack.RemoveRange(from, _onRolledBack.Count - from);
    }

    private void CloseConnection()
    {
        _transaction?.Dispose();
        _connection?.Dispose();
        _transaction = null;
        _connection = null;
    }
}
