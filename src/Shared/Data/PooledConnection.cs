using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Hive.Shared.Data;

/// <summary>
/// One physical connection that <see cref="SqliteDb"/> keeps open between uses, so that what is costly to set up is set
/// up once: its pragmas, and the statements Dapper runs on it, kept prepared by their SQL text. Microsoft.Data.Sqlite
/// keeps no statement beyond its command (dotnet/efcore#14044), and compiling the SQL cost more CPU than running it.
/// A borrower disposes it as it would any connection; what it left open is closed as <c>Close()</c> would have.
/// </summary>
internal sealed class PooledConnection : SqliteConnection
{
    /// <summary>
    /// Idle prepared statements kept per connection, the least recently used dropped past it: the host's hot SQL is a few
    /// dozen texts; one-off texts (migrations, <c>IN</c> lists of each length) pass through.
    /// </summary>
    internal const int MaxKeptStatements = 128;

    private readonly Action<PooledConnection> _giveBack;
    private readonly Dictionary<string, LinkedListNode<SqliteCommand>> _keptStatements = new(StringComparer.Ordinal);
    private readonly LinkedList<SqliteCommand> _keptByUse = []; // the most recently used first
    private readonly List<SqliteCommand> _lentCommands = [];
    private bool _lent;

    /// <summary>Counts the lendings: a command that outlived its borrower's lending must not touch the next one's.</summary>
    internal int Lending { get; private set; }

    public PooledConnection(string connectionString, Action<PooledConnection> giveBack) : base(connectionString) => _giveBack = giveBack;

    /// <summary>Closed to whoever still holds it after giving it back: a late use fails as on a closed connection.</summary>
    public override ConnectionState State => _lent ? base.State : ConnectionState.Closed;

    internal void Lend()
    {
        _lent = true;
        Lending++;
    }

    public override void Open()
    {
        if (!_lent) throw new InvalidOperationException("This connection was given back to the hive's pool; open another.");
        base.Open();
    }

    public override void Close() => GiveBack();

    protected override void Dispose(bool disposing)
    {
        if (disposing) GiveBack();
    }

    /// <summary>Dapper's commands (it creates them through <see cref="DbConnection.CreateCommand"/>) reuse kept statements.</summary>
    protected override DbCommand CreateDbCommand() => new KeptStatementCommand(this) { Transaction = Transaction };

    public override SqliteCommand CreateCommand()
    {
        var command = new LentCommand(this) { Connection = this, CommandTimeout = DefaultTimeout, Transaction = Transaction };
        _lentCommands.Add(command);
        return command;
    }

    /// <summary>A command made for the borrower: it leaves the list of what is still out when it is disposed.</summary>
    private sealed class LentCommand(PooledConnection owner) : SqliteCommand
    {
        public bool Reading => DataReader is not null;

        protected override void Dispose(bool disposing)
        {
            if (disposing) owner.Forget(this);
            base.Dispose(disposing);
        }
    }

    private void Forget(SqliteCommand command)
    {
        var index = _lentCommands.LastIndexOf(command);
        if (index >= 0) _lentCommands.RemoveAt(index);
    }

    /// <summary>A prepared command for <paramref name="sql"/>, kept or new; hand it back with <see cref="ReturnStatement"/>.</summary>
    internal SqliteCommand TakeStatement(string sql)
    {
        SqliteCommand statement;
        if (_keptStatements.Remove(sql, out var kept))
        {
            _keptByUse.Remove(kept);
            statement = kept.Value;
        }
        else statement = new SqliteCommand { Connection = this, CommandTimeout = DefaultTimeout, CommandText = sql };
        _lentCommands.Add(statement);
        return statement;
    }

    internal void ReturnStatement(SqliteCommand statement, int lending)
    {
        if (lending != Lending || !_lent) return; // given back meanwhile: disposed then, with what was still out
        Forget(statement);
        statement.Parameters.Clear();
        statement.Transaction = null;
        if (_keptStatements.ContainsKey(statement.CommandText))
        {
            statement.Dispose(); // the same SQL ran inside its own reader: one of the two is enough
            return;
        }
        _keptStatements.Add(statement.CommandText, _keptByUse.AddFirst(statement));
        if (_keptStatements.Count <= MaxKeptStatements) return;
        var leastUsed = _keptByUse.Last!.Value;
        _keptByUse.RemoveLast();
        _keptStatements.Remove(leastUsed.CommandText);
        leastUsed.Dispose();
    }

    /// <summary>
    /// What <c>Close()</c> did before a connection went back to Microsoft.Data.Sqlite's pool: a reader still open is
    /// closed (it holds a read snapshot), an open transaction is rolled back. One that still has a transaction after that
    /// (a raw BEGIN) is closed for good, never lent with it. A command of the borrower's that reads nothing stays usable on
    /// the connection's next lendings (the search index keeps its inserts prepared per connection so).
    /// </summary>
    private void GiveBack()
    {
        if (!_lent) return;
        while (_lentCommands.Count > 0)
        {
            var command = _lentCommands[^1];
            _lentCommands.RemoveAt(_lentCommands.Count - 1);
            if (command is not LentCommand { Reading: false }) command.Dispose();
        }
        Transaction?.Dispose();
        var clean = base.State == ConnectionState.Open && raw.sqlite3_get_autocommit(Handle) != 0;
        _lent = false;
        if (clean) _giveBack(this);
        else CloseForGood();
    }

    internal void CloseForGood()
    {
        foreach (var statement in _keptByUse) statement.Dispose();
        _keptByUse.Clear();
        _keptStatements.Clear();
        _lent = true;
        base.Close();
        _lent = false;
        base.Dispose(true);
    }
}

/// <summary>
/// The command Dapper builds and disposes per call. It gathers the SQL and parameters, then runs them on the connection's
/// kept statement for that SQL, so the SQL is compiled once per connection rather than once per call.
/// </summary>
internal sealed class KeptStatementCommand(PooledConnection connection) : DbCommand
{
    private readonly ParameterList _parameters = new();
    private readonly int _lending = connection.Lending;
    private SqliteCommand? _statement;

    [System.Diagnostics.CodeAnalysis.AllowNull]
    public override string CommandText { get; set; } = "";

    public override int CommandTimeout { get; set; } = connection.DefaultTimeout;

    public override CommandType CommandType
    {
        get => CommandType.Text;
        set
        {
            if (value != CommandType.Text) throw new ArgumentException($"SQLite runs only CommandType.Text, not {value}.", nameof(value));
        }
    }

    public override bool DesignTimeVisible { get; set; }

    public override UpdateRowSource UpdatedRowSource { get; set; }

    protected override DbConnection? DbConnection
    {
        get => connection;
        set
        {
            if (value != connection) throw new NotSupportedException("A kept statement runs only on the connection that made it.");
        }
    }

    protected override DbParameterCollection DbParameterCollection => _parameters;

    protected override DbTransaction? DbTransaction { get; set; }

    public override void Cancel() { }

    public override void Prepare() { }

    protected override DbParameter CreateDbParameter() => new SqliteParameter();

    public override int ExecuteNonQuery() => Statement().ExecuteNonQuery();

    public override object? ExecuteScalar() => Statement().ExecuteScalar();

    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => Statement().ExecuteReader(behavior);

    private sealed class ParameterList : SqliteParameterCollection;

    private SqliteCommand Statement()
    {
        if (_statement is not null && _statement.CommandText != CommandText) Release();
        _statement ??= connection.TakeStatement(CommandText);
        _statement.Transaction = (SqliteTransaction?)DbTransaction;
        _statement.CommandTimeout = CommandTimeout;
        _statement.Parameters.Clear();
        foreach (SqliteParameter parameter in _parameters) _statement.Parameters.Add(parameter);
        return _statement;
    }

    private void Release()
    {
        if (_statement is null) return;
        connection.ReturnStatement(_statement, _lending);
        _statement = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Release();
        base.Dispose(disposing);
    }
}
