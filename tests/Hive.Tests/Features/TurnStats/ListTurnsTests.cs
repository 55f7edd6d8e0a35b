using Hive.Contracts.TurnStats;

namespace Hive.Tests.Features.TurnStats;

/// <summary>ListTurns: GET /api/agents/{name}/turns pages an agent's turns newest first; bad input is a problem.</summary>
[Collection(TurnStatsHive.Name)]
public sealed class ListTurnsTests(TurnStatsHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Lists_an_agents_turns_newest_first_a_page_at_a_time()
    {
        var (name, other) = (await _hive.NewAgentAsync("pager"), await _hive.NewAgentAsync("other"));
        await using var agent = await _hive.ConnectAsync(name);
        await using var stranger = await _hive.ConnectAsync(other);
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await TurnStatsHive.RecordAsync(agent, TurnStatsHive.Turn(input: i)));
            await TurnStatsHive.RecordAsync(stranger, TurnStatsHive.Turn()); // never in pager's list
        }

        var all = await Turns($"/api/agents/{name}/turns");
        Assert.Equal(ids.AsEnumerable().Reverse(), all.Select(t => t.Id));
        Assert.All(all, t => Assert.Equal(name, t.Agent));
        Assert.Equal(4, all[0].InputTokens);
        Assert.Equal("message", all[0].WakeFrom);
        Assert.Equal(2, all[0].Tools["Bash"]);

        var first = await Turns($"/api/agents/{name}/turns?limit=2");
        Assert.Equal([ids[4], ids[3]], first.Select(t => t.Id));
        var second = await Turns($"/api/agents/{name}/turns?limit=2&before={ids[3]}");
        Assert.Equal([ids[2], ids[1]], second.Select(t => t.Id));
        var last = await Turns($"/api/agents/{name}/turns?limit=2&before={ids[1]}");
        Assert.Equal([ids[0]], last.Select(t => t.Id));
        Assert.Empty(await Turns($"/api/agents/{name}/turns?before={ids[0]}"));
    }

    [Fact]
    public async Task An_agent_without_turns_has_an_empty_list()
    {
        var name = await _hive.NewAgentAsync("idle");
        Assert.Empty(await Turns($"/api/agents/{name}/turns"));
    }

    [Theory]
    [InlineData("/api/agents/nobody-here/turns", HttpStatusCode.NotFound, "not_found")]
    [InlineData("/api/agents/NOT%20A%20NAME/turns", HttpStatusCode.NotFound, "not_found")]
    [InlineData("/api/agents/{name}/turns?before=abc", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/api/agents/{name}/turns?before=-1", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/api/agents/{name}/turns?limit=1e3", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/api/agents/{name}/turns?limit=0", HttpStatusCode.BadRequest, "validation")]
    [InlineData("/api/agents/{name}/turns?limit=501", HttpStatusCode.BadRequest, "validation")]
    [InlineData("/api/agents/{name}/turns?before=0", HttpStatusCode.BadRequest, "validation")]
    public async Task Bad_requests_are_problems(string path, HttpStatusCode status, string code)
    {
        var name = await _hive.NewAgentAsync("pager");
        using var response = await _hive.Http.GetAsync(path.Replace("{name}", name));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = Problem.Of(await response.Content.ReadFromJsonAsync<JsonElement>());
        Assert.Equal(code, problem.Code);
    }

    [Fact]
    public async Task The_limit_is_at_most_500_and_50_by_default()
    {
        var name = await _hive.NewAgentAsync("busy");
        for (var i = 0; i < 501; i++) fixture.InsertTurn(name, DateTimeOffset.UtcNow.AddMinutes(-i), i);
        Assert.Equal(50, (await Turns($"/api/agents/{name}/turns")).Count);
        Assert.Equal(500, (await Turns($"/api/agents/{name}/turns?limit=500")).Count);
    }

    private Task<List<TurnView>> Turns(string path) => _hive.GetAsync<List<TurnView>>(path);
}
