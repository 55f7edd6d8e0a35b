namespace Hive.Tests.Features.Messages;

/// <summary>ListMessages: the history, newest first, paged with before and limit.</summary>
[Collection(MessagesHive.Name)]
public sealed class ListMessagesTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task History_pages_newest_first_with_before_and_limit()
    {
        var agents = await _hive.NewAgentsAsync("alice", "carol");
        await using var alice = await _hive.ConnectAsync(agents[0]);
        var ids = new List<long>();
        // The newest messages of the hive while this test runs (no other test of the collection runs meanwhile).
        for (var i = 0; i < 7; i++) ids.Add(await alice.SendAsync(agents[1], $"history {i}"));

        var page = await _hive.GetJsonAsync($"/api/messages?before={ids[^1] + 1}&limit=3");
        Assert.Equal(ids[^3..].AsEnumerable().Reverse(), page.EnumerateArray().Select(m => m.GetProperty("id").GetInt64()));
        var next = await _hive.GetJsonAsync($"/api/messages?before={ids[^3]}&limit=3");
        Assert.Equal(ids[^6..^3].AsEnumerable().Reverse(), next.EnumerateArray().Select(m => m.GetProperty("id").GetInt64()));

        foreach (var bad in new[] { "limit=0", "limit=501", "limit=abc", "before=-1", "before=1.5", "before=0" })
        {
            using var response = await _hive.Http.GetAsync($"/api/messages?{bad}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }
}
