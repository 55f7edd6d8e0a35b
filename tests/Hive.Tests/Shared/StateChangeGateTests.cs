using Hive.Shared.Dashboard;

namespace Hive.Tests.Shared;

public sealed class StateChangeGateTests
{
    [Fact]
    public async Task A_snapshot_waits_for_changes_in_flight_and_holds_new_ones_back()
    {
        var gate = new StateChangeGate();
        var change = await gate.EnterChangeAsync();
        var snapshot = gate.EnterSnapshotAsync().AsTask();
        Assert.False(snapshot.IsCompleted);

        var later = gate.EnterChangeAsync().AsTask();
        Assert.False(later.IsCompleted);

        change.Dispose();
        using (await snapshot.WaitAsync(TimeSpan.FromSeconds(5)))
            Assert.False(later.IsCompleted);

        (await later.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }

    [Fact]
    public async Task Changes_do_not_wait_for_each_other()
    {
        var gate = new StateChangeGate();
        using var a = await gate.EnterChangeAsync();
        var b = gate.EnterChangeAsync();
        Assert.True(b.IsCompleted);
        (await b).Dispose();
    }
}
