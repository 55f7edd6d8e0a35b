using Hive.Shared.Dashboard;

namespace Hive.Tests.Shared;

/// <summary>
/// Concurrent cold loads share the gate, and a change waits for at most one of them — never for a
/// queue of snapshots taking turns.
/// </summary>
public sealed class SnapshotGroupGateTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Snapshots_share_the_gate_and_changes_wait_for_all_of_them()
    {
        var gate = new StateChangeGate();
        var first = await gate.EnterSnapshotAsync();
        var second = gate.EnterSnapshotAsync();
        Assert.True(second.IsCompleted, "a second snapshot joins the first");
        var change = gate.EnterChangeAsync().AsTask();
        Assert.False(change.IsCompleted);

        first.Dispose();
        Assert.False(change.IsCompleted);
        (await second).Dispose();
        (await change.WaitAsync(Timeout)).Dispose();
    }

    [Fact]
    public async Task A_waiting_change_closes_the_group_and_enters_before_the_next_snapshot()
    {
        var gate = new StateChangeGate();
        var holding = await gate.EnterSnapshotAsync();
        var change = gate.EnterChangeAsync().AsTask();
        var next = gate.EnterSnapshotAsync().AsTask();
        Assert.False(next.IsCompleted, "a snapshot arriving after a waiting change does not join the running group");

        holding.Dispose();
        var admitted = await change.WaitAsync(Timeout);
        Assert.False(next.IsCompleted, "the next snapshot waits for the admitted change to finish");
        admitted.Dispose();
        (await next.WaitAsync(Timeout)).Dispose();

        // And the gate is free again.
        (await gate.EnterChangeAsync().AsTask().WaitAsync(Timeout)).Dispose();
    }

    [Fact]
    public async Task A_cancelled_waiting_change_does_not_hold_the_gate()
    {
        var gate = new StateChangeGate();
        var holding = await gate.EnterSnapshotAsync();
        using var cancel = new CancellationTokenSource();
        var change = gate.EnterChangeAsync(cancel.Token).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => change);
        // With no change waiting any more, a new snapshot joins at once.
        var joined = gate.EnterSnapshotAsync();
        Assert.True(joined.IsCompleted);
        (await joined).Dispose();
        holding.Dispose();
        (await gate.EnterSnapshotAsync().AsTask().WaitAsync(Timeout)).Dispose();
    }
}
