namespace Hive.Tests.Features.Governance;

/// <summary>quota_hit (confirmed by a second agent): a provider's circuit holds its agents until the reset (or until the operator clears it); bad input changes nothing.</summary>
public sealed class QuotaTests(GovernanceHive fixture) : SharedHiveTests(fixture), IClassFixture<GovernanceHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_circuit_holds_the_provider_until_cleared_then_grants_through_the_queue()
    {
        var names = await _hive.NewAgentsAsync("hitter", "other", "witness");
        await using var events = await _hive.OpenEventsAsync();
        await using var hitter = await _hive.ConnectAsync(names[0]);
        await using var other = await _hive.ConnectAsync(names[1]);
        await using var witness = await _hive.ConnectAsync(names[2]);
        var until = DateTimeOffset.UtcNow.AddHours(2);
        // One agent's word holds only itself; a second agent on the provider confirming it opens the circuit.
        var opened = AgentClient.Ok(await hitter.CallAsync(new { op = "quota_hit", until = global::Hive.Contracts.Json.UtcTimestamp.Format(until.AddMinutes(30)) }));
        Assert.Equal("anthropic", opened.GetProperty("provider").GetString());
        Assert.Equal("agent", opened.GetProperty("held").GetString());
        var confirmed = AgentClient.Ok(await witness.CallAsync(new { op = "quota_hit", until = global::Hive.Contracts.Json.UtcTimestamp.Format(until) }));
        Assert.Equal("provider", confirmed.GetProperty("held").GetString());
        await events.WaitForAsync("quota_circuit_changed", e => e.GetProperty("until").ValueKind == JsonValueKind.String);

        // An agent on another provider is not held.
        var elsewhere = names[1] + "-acme";
        using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name = elsewhere, driver = "external", provider = "acme" }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await using (var acme = await _hive.ConnectAsync(elsewhere))
        {
            var acmeTurn = await GovernanceHive.GrantedAsync(acme);
            AgentClient.Ok(await acme.CallAsync(GovernanceHive.Record(acmeTurn)));
        }

        var held = (await GovernanceHive.BeginAsync(other, 100)).GetProperty("held");
        Assert.Equal("quota", held.GetProperty("reason").GetString());
        Assert.Equal(until.ToUnixTimeSeconds(), held.GetProperty("until").GetDateTimeOffset().ToUnixTimeSeconds());
        Assert.Single((await fixture.GovernanceAsync()).GetProperty("circuits").EnumerateArray());

        var waiting = GovernanceHive.BeginAsync(other, 10_000);
        using (var clear = await _hive.Http.DeleteAsync("/api/governance/circuits/anthropic")) Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        Assert.True((await waiting).TryGetProperty("turn_id", out _));
        Assert.Empty((await fixture.GovernanceAsync()).GetProperty("circuits").EnumerateArray());
    }

    [Fact]
    public async Task An_agents_own_quota_hold_is_deleted_when_it_runs_out_and_its_waiting_turn_is_granted()
    {
        var name = await _hive.NewAgentAsync("shortquota");
        await using var events = await _hive.OpenEventsAsync();
        await using var agent = await _hive.ConnectAsync(name);
        var hit = AgentClient.Ok(await agent.CallAsync(new { op = "quota_hit", until = global::Hive.Contracts.Json.UtcTimestamp.Format(DateTimeOffset.UtcNow.AddSeconds(5)) }));
        Assert.Equal("agent", hit.GetProperty("held").GetString());
        await events.WaitForAsync("agent_quota_held", e => e.GetProperty("agent").GetString() == name && e.GetProperty("until").ValueKind == JsonValueKind.String);
        var waiting = GovernanceHive.BeginAsync(agent, 30_000);

        // Its reset comes: the clock deletes the row (the table keeps only holds that hold), says so, and grants the turn.
        await events.WaitForAsync("agent_quota_held", e => e.GetProperty("agent").GetString() == name && e.GetProperty("until").ValueKind == JsonValueKind.Null,
            TimeSpan.FromSeconds(30));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM agent_quota_holds WHERE agent = @name", new { name }));
        Assert.DoesNotContain((await fixture.GovernanceAsync()).GetProperty("quota_holds").EnumerateArray(), h => h.GetProperty("agent").GetString() == name);
        await events.WaitForAsync("container_state_changed", e => e.GetProperty("agent") is var row && row.GetProperty("name").GetString() == name
            && (!row.TryGetProperty("held", out var held) || held.ValueKind == JsonValueKind.Null));
        Assert.True((await waiting).TryGetProperty("turn_id", out _));
    }

    [Fact]
    public async Task Bad_quota_hits_and_clears_are_refused()
    {
        var name = await _hive.NewAgentAsync("badquota");
        await using var agent = await _hive.ConnectAsync(name);
        Assert.Equal("validation", (await agent.CallAsync(new { op = "quota_hit", until = "2000-01-01T00:00:00.000Z" })).GetProperty("code").GetString());
        Assert.Equal("validation", (await agent.CallAsync(new { op = "quota_hit", until = global::Hive.Contracts.Json.UtcTimestamp.Format(DateTimeOffset.UtcNow.AddDays(30)) })).GetProperty("code").GetString());
        Assert.Equal("validation", (await agent.CallAsync(new { op = "quota_hit", provider = "Bad Provider" })).GetProperty("code").GetString());
        Assert.Equal("forbidden", (await agent.CallAsync(new { op = "quota_hit", provider = "openai" })).GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM quota_circuits"));
        using var clear = await _hive.Http.DeleteAsync("/api/governance/circuits/anthropic");
        Assert.Equal(HttpStatusCode.NotFound, clear.StatusCode);
    }
}
