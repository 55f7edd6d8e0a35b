namespace Hive.Tests.Features.TurnStats;

/// <summary>TurnRetention: the sweep removes turns recorded before the retention window, and nothing else.</summary>
[Collection(TurnStatsHive.Name)]
public sealed class TurnRetentionTests(TurnStatsHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Removes_only_turns_older_than_the_retention_window()
    {
        var name = await _hive.NewAgentAsync("aging");
        var now = DateTimeOffset.UtcNow;
        var old = Enumerable.Range(0, 3).Select(i => fixture.InsertTurn(name, now.AddDays(-TurnStatsHive.RetainDays - 1 - i), 10)).ToList();
        var kept = fixture.InsertTurn(name, now.AddDays(-TurnStatsHive.RetainDays).AddHours(1), 10); // inside, barely
        await using var agent = await _hive.ConnectAsync(name);
        var fresh = await TurnStatsHive.RecordAsync(agent, TurnStatsHive.Turn());

        await fixture.WaitSweepsAsync(2);

        var left = _hive.QueryDbList<long>("SELECT id FROM turns WHERE agent = @name ORDER BY id", new { name });
        Assert.Equal([kept, fresh], left);
        Assert.DoesNotContain(old, left.Contains);
    }

    [Fact]
    public async Task Retention_days_must_be_positive()
    {
        var start = HiveInstance.StartAsync([], "--Hive:TurnStats:RetainDays", "0");
        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await (await start).DisposeAsync());
        Assert.Contains("RetainDays", error.ToString());
    }
}
