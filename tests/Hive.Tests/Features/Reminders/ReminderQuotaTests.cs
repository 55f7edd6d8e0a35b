using Hive.Shared.Errors;

namespace Hive.Tests.Features.Reminders;

/// <summary>One agent cannot fill the host with reminders.</summary>
public sealed class ReminderQuotaTests
{
    private static string Code(JsonElement reply) => reply.GetProperty("code").GetString()!;

    [Fact]
    public async Task Ten_thousand_reminders_from_one_agent_are_refused_past_the_default_quota_and_nothing_more_is_stored()
    {
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"]);
        await using var alice = await hive.ConnectAsync("alice");
        var refused = 0;
        for (var i = 1; i <= 10_000; i++)
        {
            var reply = await alice.CallAsync(new { op = "remind", body = $"r{i}", in_seconds = 3600 });
            if (i <= 1000) Assert.True(reply.GetProperty("ok").GetBoolean(), $"#{i}: {reply}");
            else
            {
                Assert.False(reply.GetProperty("ok").GetBoolean(), $"#{i}: {reply}");
                Assert.Equal(ErrorCodes.TooMany, Code(reply));
                refused++;
            }
        }
        Assert.Equal(9000, refused);
        Assert.Equal(1000, hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE agent = 'alice'"));
        Assert.Equal(1000, hive.QueryDb<long>("SELECT pending FROM reminder_pending WHERE agent = 'alice'"));

        // Per agent: bob still has his whole quota; and alice gets a place back once one of hers is gone.
        await using var bob = await hive.ConnectAsync("bob");
        Assert.True((await bob.CallAsync(new { op = "remind", body = "mine", in_seconds = 3600 })).GetProperty("ok").GetBoolean());
        var oldest = hive.QueryDb<long>("SELECT min(id) FROM reminders WHERE agent = 'alice'");
        using (var cancel = await hive.Http.DeleteAsync($"/api/reminders/{oldest}")) cancel.EnsureSuccessStatusCode();
        Assert.True((await alice.CallAsync(new { op = "remind", body = "again", in_seconds = 3600 })).GetProperty("ok").GetBoolean());
        Assert.Equal(ErrorCodes.TooMany, Code(await alice.CallAsync(new { op = "remind", body = "one too many", in_seconds = 3600 })));
    }

    [Fact]
    public async Task Racing_reminders_never_exceed_the_quota()
    {
        const int quota = 40;
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Reminders:MaxPendingPerAgent", quota.ToString());
        var clients = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => hive.ConnectAsync("alice")));
        try
        {
            var replies = await Task.WhenAll(clients.Select(async (c, n) =>
            {
                var mine = new List<JsonElement>();
                for (var i = 0; i < 15; i++) mine.Add(await c.CallAsync(new { op = "remind", body = $"c{n} r{i}", in_seconds = 3600 }));
                return mine;
            }));
            var all = replies.SelectMany(r => r).ToList();
            Assert.Equal(quota, all.Count(r => r.GetProperty("ok").GetBoolean()));
            Assert.All(all.Where(r => !r.GetProperty("ok").GetBoolean()), r => Assert.Equal(ErrorCodes.TooMany, Code(r)));
            Assert.Equal(quota, hive.QueryDb<long>("SELECT count(*) FROM reminders"));
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync();
        }
    }

    [Fact]
    public void Too_many_is_429_with_its_own_code()
    {
        var error = HiveError.From(new TooManyException("full"));
        Assert.Equal((429, ErrorCodes.TooMany), (error.Status, error.Code));
        Assert.Equal(429, ErrorCodes.StatusOf(ErrorCodes.TooMany));
    }
}
