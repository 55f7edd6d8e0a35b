using Hive.Shared;
using Hive.Shared.Dashboard;
using Microsoft.Extensions.Options;

namespace Hive.Tests.Shared;

public sealed class DashboardHubTests
{
    private static DashboardHub Hub(int ring = 100, int queue = 4) =>
        new(Options.Create(new HiveOptions { Dashboard = { ReplayCapacity = ring, SubscriberQueue = queue } }), TimeProvider.System);

    [Fact]
    public void A_subscriber_that_falls_behind_is_cut_off_without_blocking_the_publisher_and_can_replay()
    {
        var hub = Hub(queue: 4);
        using var slow = hub.Subscribe(null);
        using var fast = hub.Subscribe(null);
        var published = Enumerable.Range(0, 10).Select(i => hub.Publish("sent", $"{{\"n\":{i}}}")).ToList();

        // The slow reader got the first 4 and then its queue was completed with an overflow.
        var got = new List<DashboardEventRecord>();
        while (slow.Live.TryRead(out var record)) got.Add(record);
        Assert.Equal(published.Take(4), got);
        Assert.True(slow.Live.Completion.IsCompleted);
        Assert.IsType<SubscriberOverflowException>(slow.Live.Completion.Exception?.InnerException);

        // Reconnecting with the last id it saw replays the rest from the ring: nothing is lost.
        using var again = hub.Subscribe(got[^1].Id);
        Assert.False(again.NeedsResync);
        Assert.Equal(published.Skip(4), again.Replay);
    }

    /// <summary>An agent-scoped event (a transcript) reaches only streams filtered to that agent, live and in replay.</summary>
    [Fact]
    public void Transcript_events_scoped_to_an_agent_reach_only_its_streams_live_and_in_replay()
    {
        var hub = Hub(queue: 16);
        using var main = hub.Subscribe(null);
        using var alice = hub.Subscribe(null, "alice");
        using var bob = hub.Subscribe(null, "bob");
        var start = hub.LastId;
        var plain = hub.Publish("sent", "{}");
        var scoped = hub.Publish("transcript", "{}", scope: "alice");
        var after = hub.Publish("turn_recorded", "{}");

        static List<DashboardEventRecord> Drain(DashboardHub.Subscription s)
        {
            var got = new List<DashboardEventRecord>();
            while (s.Live.TryRead(out var record)) got.Add(record);
            return got;
        }
        Assert.Equal([plain, after], Drain(main));
        Assert.Equal([plain, scoped, after], Drain(alice));
        Assert.Equal([plain, after], Drain(bob));

        using var mainAgain = hub.Subscribe(start);
        using var aliceAgain = hub.Subscribe(start, "alice");
        Assert.Equal([plain, after], mainAgain.Replay);
        Assert.Equal([plain, scoped, after], aliceAgain.Replay);
        var chunk = new DashboardEventRecord[1];
        using var chunked = hub.Subscribe(start, "bob");
        var read = new List<DashboardEventRecord>();
        while (chunked.ReadReplay(chunk) is var n && n > 0) read.AddRange(chunk[..n]);
        Assert.Equal([plain, after], read); // a chunk that held only another agent's event is skipped, not the end
    }

    [Fact]
    public void Ids_increase_and_the_ring_covers_exactly_its_capacity()
    {
        var hub = Hub(ring: 5, queue: 100);
        var first = hub.LastId;
        var records = Enumerable.Range(0, 8).Select(i => hub.Publish("x", "{}")).ToList();
        Assert.Equal(Enumerable.Range(1, 8).Select(i => first + i), records.Select(r => r.Id));

        using var covered = hub.Subscribe(records[2].Id); // ids 4..8 are the last five
        Assert.False(covered.NeedsResync);
        Assert.Equal(records.Skip(3), covered.Replay);

        using var stale = hub.Subscribe(records[1].Id);
        Assert.True(stale.NeedsResync);
        Assert.Empty(stale.Replay);

        using var current = hub.Subscribe(records[^1].Id);
        Assert.False(current.NeedsResync);
        Assert.Empty(current.Replay);
    }

    [Fact]
    public void Ids_of_a_later_run_start_above_those_of_an_earlier_one()
    {
        var earlier = Hub();
        for (var i = 0; i < 1000; i++) earlier.Publish("x", "{}");
        Thread.Sleep(2); // a later start, by the clock the ids derive from
        Assert.True(Hub().LastId > earlier.LastId);
    }
}
