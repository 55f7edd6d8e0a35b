namespace Hive.Shared.Dashboard;

/// <summary>
/// Makes <c>GET /api/state</c> consistent with the event stream. A state change holds the gate (shared) from before
/// its commit until its notification is published; a snapshot holds it exclusively, so it sees every change whose
/// event id is at most its <c>seq</c> and none after. Changes never wait for each other, only for a snapshot.
/// </summary>
public interface IStateChangeGate
{
    ValueTask<IDisposable> EnterChangeAsync(CancellationToken cancellationToken = default);
    ValueTask<IDisposable> EnterSnapshotAsync(CancellationToken cancellationToken = default);
}

/// <inheritdoc cref="IStateChangeGate"/>
public sealed class StateChangeGate : IStateChangeGate
{
    private readonly object _lock = new();
    private readonly SemaphoreSlim _snapshots = new(1, 1);
    private int _changesInFlight;
    private TaskCompletionSource? _drained;      // set while a snapshot waits for in-flight changes
    private TaskCompletionSource? _snapshotDone; // set while a snapshot is pending or running

    public async ValueTask<IDisposable> EnterChangeAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_snapshotDone is null)
                {
                    _changesInFlight++;
                    return new Release(this, isSnapshot: false);
                }
                wait = _snapshotDone.Task;
            }
            await wait.WaitAsync(cancellationToken);
        }
    }

    public async ValueTask<IDisposable> EnterSnapshotAsync(CancellationToken cancellationToken = default)
    {
        await _snapshots.WaitAsync(cancellationToken);
        Task drained;
        lock (_lock)
        {
            _snapshotDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_changesInFlight == 0) _drained.TrySetResult();
            drained = _drained.Task;
        }
        try
        {
            await drained.WaitAsync(cancellationToken);
        }
        catch
        {
            ExitSnapshot();
            throw;
        }
        return new Release(this, isSnapshot: true);
    }

    private void ExitChange()
    {
        lock (_lock)
        {
            if (--_changesInFlight == 0) _drained?.TrySetResult();
        }
    }

    private void ExitSnapshot()
    {
        TaskCompletionSource? done;
        lock (_lock)
        {
            done = _snapshotDone;
            _snapshotDone = null;
            _drained = null;
        }
        done?.TrySetResult();
        _snapshots.Release();
    }

    private sealed class Release(StateChangeGate gate, bool isSnapshot) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1) return;
            if (isSnapshot) gate.ExitSnapshot();
            else gate.ExitChange();
        }
    }
}
