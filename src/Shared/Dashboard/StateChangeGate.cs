namespace Hive.Shared.Dashboard;

/// <summary>
/// Makes <c>GET /api/state</c> consistent with the event stream. A state change holds the gate (shared) from before
/// its commit until its notification is published; a snapshot holds it against every change, so it sees every change
/// whose event id is at most its <c>seq</c> and none after. Changes never wait for each other, only for snapshots.
/// </summary>
public interface IStateChangeGate
{
    ValueTask<IDisposable> EnterChangeAsync(CancellationToken cancellationToken = default);
    ValueTask<IDisposable> EnterSnapshotAsync(CancellationToken cancellationToken = default);
}

/// <inheritdoc cref="IStateChangeGate"/>
/// <remarks>
/// Snapshots only read, so they share the gate among themselves: concurrent cold loads run as one <em>group</em>
/// (one wait for in-flight changes to drain, then all of them read). A change that arrives while a group holds the gate
/// waits for it, and from then on the group takes no new members: a later snapshot waits until the group has ended and
/// the waiting changes are admitted, then starts (or joins) the next group. So a change waits for at most one
/// snapshot's read, never for a queue of cold loads (a send once stalled 279 ms behind five of them; ADR 0005).
/// </remarks>
public sealed class StateChangeGate : IStateChangeGate
{
    private readonly object _lock = new();
    private int _changesInFlight;
    private Group? _group; // the snapshots holding (or draining for) the gate, while any

    private sealed class Group
    {
        public readonly TaskCompletionSource Ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Snapshots;
        public int ChangesWaiting; // admitted all at once when the group ends
        public bool IsOver;
    }

    public async ValueTask<IDisposable> EnterChangeAsync(CancellationToken cancellationToken = default)
    {
        Group group;
        lock (_lock)
        {
            if (_group is null)
            {
                _changesInFlight++;
                return new Release(this, isSnapshot: false);
            }
            group = _group;
            group.ChangesWaiting++;
        }
        try
        {
            await group.Ended.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            lock (_lock)
            {
                if (!group.IsOver) group.ChangesWaiting--;
                else if (--_changesInFlight == 0) _group?.Drained.TrySetResult(); // admitted meanwhile: leave again
            }
            throw;
        }
        return new Release(this, isSnapshot: false);
    }

    public async ValueTask<IDisposable> EnterSnapshotAsync(CancellationToken cancellationToken = default)
    {
        Group group;
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_group is null)
                {
                    _group = new Group();
                    if (_changesInFlight == 0) _group.Drained.TrySetResult();
                }
                if (_group.ChangesWaiting == 0)
                {
                    group = _group;
                    group.Snapshots++;
                    break;
                }
                wait = _group.Ended.Task; // changes wait on this group: let them in first
            }
            await wait.WaitAsync(cancellationToken);
        }
        try
        {
            await group.Drained.Task.WaitAsync(cancellationToken);
        }
        catch
        {
            ExitSnapshot(group);
            throw;
        }
        return new Release(this, isSnapshot: true, group);
    }

    private void ExitChange()
    {
        lock (_lock)
        {
            if (--_changesInFlight == 0) _group?.Drained.TrySetResult();
        }
    }

    private void ExitSnapshot(Group group)
    {
        lock (_lock)
        {
            if (--group.Snapshots > 0) return;
            group.IsOver = true;
            _changesInFlight += group.ChangesWaiting;
            _group = null;
        }
        group.Ended.TrySetResult();
    }

    private sealed class Release(StateChangeGate gate, bool isSnapshot, Group? group = null) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1) return;
            if (isSnapshot) gate.ExitSnapshot(group!);
            else gate.ExitChange();
        }
    }
}
