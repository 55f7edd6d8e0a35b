using Dapper;
using Hive.Shared;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Mediation;
using MediatR;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hive.Tests.Shared;

/// <summary>
/// The unit of work on its own: a real SQLite file, the real mediator pipeline and gate, and probe requests that
/// write to a table of their own.
/// </summary>
public sealed class StateChangesTests : IAsyncLifetime
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"hive-changes-{Guid.NewGuid():N}.db");
    private readonly ServiceProvider _services;
    private readonly Recorder _recorder = new();

    public StateChangesTests()
    {
        DapperSetup.Configure();
        var db = new SqliteDb(_path, "NORMAL");
        db.EnableWriteAheadLog();
        using (var connection = db.Open()) connection.Execute("CREATE TABLE probe (name TEXT NOT NULL)");

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOptions<HiveOptions>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IDb>(db);
        services.AddSingleton<IStateChangeGate, StateChangeGate>();
        services.AddSingleton<DashboardHub>();
        services.AddSingleton(new HivePaths(Path.GetDirectoryName(_path)!));
        services.AddSingleton<Hive.Shared.Health.StorageHealth>();
        services.AddSingleton<StateChanges>();
        services.AddSingleton(_recorder);
        services.AddHiveMediation([typeof(HiveOptions).Assembly]);
        services.AddTransient<IRequestHandler<Write, Unit>, WriteHandler>();
        services.AddTransient<INotificationHandler<Written>, RecordWritten>();
        _services = services.BuildServiceProvider();
    }

    private IStateChangeGate Gate => _services.GetRequiredService<IStateChangeGate>();

    private async Task SendAsync(Write write)
    {
        await using var scope = _services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<IMediator>().Send(write);
    }

    private List<string> Rows()
    {
        using var connection = new SqliteConnection($"Data Source={_path};Pooling=False");
        connection.Open();
        return connection.Query<string>("SELECT name FROM probe ORDER BY rowid").AsList();
    }

    [Fact]
    public async Task Publishes_what_was_raised_in_order_after_the_commit()
    {
        await SendAsync(new Write("a", Then: new Write("b")));

        Assert.Equal(["a", "b"], Rows());
        // In the order raised, outer then nested; each handler saw both rows from a connection of its own: committed.
        Assert.Equal(["a", "b"], _recorder.Published.Select(p => p.Name));
        Assert.All(_recorder.Published, p => Assert.Equal(["a", "b"], p.RowsVisibleElsewhere));
        Assert.Empty(_recorder.Undone); // committed: nothing undone
    }

    [Fact]
    public async Task A_change_that_rolls_back_publishes_nothing_and_writes_nothing()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            SendAsync(new Write("a", Then: new Write("b"), FailAtEnd: true)));

        Assert.Equal("probe failure", failure.Message);
        Assert.Empty(Rows());
        Assert.Empty(_recorder.Published);
        Assert.Equal(["b", "a"], _recorder.Undone); // every undo, the latest first
    }

    [Fact]
    public async Task A_nested_request_that_fails_leaves_no_trace_when_its_caller_carries_on()
    {
        await SendAsync(new Write("a", Then: new Write("b", FailAtEnd: true), CatchThen: true, After: "c"));

        Assert.Equal(["a", "c"], Rows());
        Assert.Equal(["a"], _recorder.Published.Select(p => p.Name));
        Assert.Equal(["b"], _recorder.Undone); // only the failed nested request's
    }

    [Fact]
    public async Task A_failed_nested_request_that_opened_the_transaction_leaves_no_trace()
    {
        // The caller wrote nothing before it, so the nested request began the transaction itself.
        await SendAsync(new Write(null, Then: new Write("b", FailAtEnd: true), CatchThen: true, After: "c"));

        Assert.Equal(["c"], Rows());
        Assert.Empty(_recorder.Published);
    }

    [Fact]
    public async Task Nested_changes_join_instead_of_deadlocking_behind_a_waiting_snapshot()
    {
        var inChange = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var goOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sending = SendAsync(new Write("a", Then: new Write("b"), PauseBeforeThen: (inChange, goOn)));
        await inChange.Task.WaitAsync(TimeSpan.FromSeconds(5));

        var snapshot = Gate.EnterSnapshotAsync().AsTask();
        Assert.False(snapshot.IsCompleted); // it waits for the change in flight, and holds new changes back
        goOn.SetResult();

        await sending.WaitAsync(TimeSpan.FromSeconds(5)); // the nested request joined: no second gate entry
        (await snapshot.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        Assert.Equal(["a", "b"], Rows());
    }

    [Fact]
    public async Task A_change_started_while_its_parent_publishes_does_not_wait_behind_a_snapshot()
    {
        var publishing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var goOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _recorder.OnPublish = async (written, mediator) =>
        {
            if (written.Name != "a") return;
            publishing.SetResult();
            await goOn.Task;
            await mediator.Send(new Write("from-a-handler")); // a new change of its own, after a's commit
        };
        var sending = SendAsync(new Write("a"));
        await publishing.Task.WaitAsync(TimeSpan.FromSeconds(5));

        var snapshot = Gate.EnterSnapshotAsync().AsTask();
        Assert.False(snapshot.IsCompleted);
        goOn.SetResult();

        await sending.WaitAsync(TimeSpan.FromSeconds(5));
        (await snapshot.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        Assert.Equal(["a", "from-a-handler"], Rows());
        Assert.Equal(["a", "from-a-handler"], _recorder.Published.Select(p => p.Name));
    }

    [Fact]
    public async Task A_handler_outside_a_change_is_told_so()
    {
        var changes = _services.GetRequiredService<StateChanges>();
        var error = Assert.Throws<InvalidOperationException>(() => changes.Current);
        Assert.Contains("IChangesState", error.Message);
        await Task.CompletedTask;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // IAsyncLifetime, not IAsyncDisposable: xunit 2 does not dispose a test class asynchronously, and the file stayed in /tmp.
    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" }) File.Delete(file);
    }

    /// <summary>Writes a row (unless Name is null), raises <see cref="Written"/>, then optionally sends a nested Write.</summary>
    public sealed record Write(
        string? Name,
        Write? Then = null,
        bool FailAtEnd = false,
        bool CatchThen = false,
        string? After = null,
        (TaskCompletionSource Reached, TaskCompletionSource GoOn)? PauseBeforeThen = null) : IRequest, IChangesState;

    public sealed record Written(string Name) : INotification;

    public sealed record PublishedWrite(string Name, List<string> RowsVisibleElsewhere);

    public sealed class Recorder
    {
        public List<PublishedWrite> Published { get; } = [];
        public List<string> Undone { get; } = [];
        public Func<Written, IMediator, Task>? OnPublish { get; set; }
    }

    private sealed class WriteHandler(StateChanges changes, IMediator mediator, Recorder recorder) : IRequestHandler<Write, Unit>
    {
        public async Task<Unit> Handle(Write write, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            if (write.Name is { } name)
            {
                change.Execute("INSERT INTO probe (name) VALUES (@name)", new { name });
                change.Raise(new Written(name));
                change.OnRolledBack(() => recorder.Undone.Add(name)); // as a file written beside the row would be removed
            }
            if (write.PauseBeforeThen is var (reached, goOn))
            {
                reached.SetResult();
                await goOn.Task;
            }
            if (write.Then is { } then)
            {
                try
                {
                    await mediator.Send(then, cancellationToken);
                }
                catch (InvalidOperationException) when (write.CatchThen)
                {
                    // The caller handles its nested request's failure and carries on.
                }
            }
            if (write.After is { } after) change.Execute("INSERT INTO probe (name) VALUES (@after)", new { after });
            if (write.FailAtEnd) throw new InvalidOperationException("probe failure");
            return Unit.Value;
        }
    }

    private sealed class RecordWritten(Recorder recorder, IDb db, IMediator mediator) : INotificationHandler<Written>
    {
        public async Task Handle(Written notification, CancellationToken cancellationToken)
        {
            using (var connection = db.Open())
                recorder.Published.Add(new PublishedWrite(notification.Name, connection.Query<string>("SELECT name FROM probe ORDER BY rowid").AsList()));
            if (recorder.OnPublish is { } onPublish) await onPublish(notification, mediator);
        }
    }
}
