using Hive.Contracts.Governance;

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
        var opened = await hitter.CallAsync(GovernanceVerbs.QuotaHit, new QuotaHitArgs(null, until.AddMinutes(30)));
        Assert.Equal("anthropic", opened.Provider);
        Assert.Equal("agent", opened.Held);
        var confirmed = await witness.CallAsync(GovernanceVerbs.QuotaHit, new QuotaHitArgs(null, until));
        Assert.Equal("provider", confirmed.Held);
        await events.WaitForPayloadAsync<QuotaCircuitChangedPayload>("quota_circuit_changed", e => e.Until is not null);

        // An agent on another provider is not held.
        var elsewhere = names[1] + "-acme";
        using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name = elsewhere, driver = "external", provider = "acme" }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await using (var acme = await _hive.ConnectAsync(elsewhere))
        {
            var acmeTurn = await GovernanceHive.GrantedAsync(acme);
            AgentClient.Ok(await acme.CallAsync(GovernanceHive.Record(acmeTurn)));
        }

        var held = (await GovernanceHive.BeginTurnAsync(other, 100)).Held!;
        Assert.Equal("quota", held.Reason);
        Assert.Equal(until.ToUnixTimeSeconds(), held.Until!.Value.ToUnixTimeSeconds());
        Assert.Single((await fixture.ViewAsync()).Circuits);

        var waiting = GovernanceHive.BeginTurnAsync(other, 10_000);
        using (var clear = await _hive.Http.DeleteAsync("/api/governance/circuits/anthropic")) Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        Assert.NotNull((await waiting).TurnId);
        Assert.Empty((await fixture.ViewAsync()).Circuits);
    }

    [Fact]
    public async Task An_agents_own_quota_hold_is_deleted_when_it_runs_out_and_its_waiting_turn_is_granted()
    {
        var name = await _hive.NewAgentAsync("shortquota");
        await using var events = await _hive.OpenEventsAsync();
        await using var agent = await _hive.ConnectAsync(name);
        var hit = await agent.CallAsync(GovernanceVerbs.QuotaHit, new QuotaHitArgs(null, DateTimeOffset.UtcNow.AddSeconds(5)));
        Assert.Equal("agent", hit.Held);
        await events.WaitForPayloadAsync<AgentQuotaHeldPayload>("agent_quota_held", e => e.Agent == name && e.Until is not null);
        var waiting = GovernanceHive.BeginTurnAsync(agent, 30_000);

        // Its reset comes: the clock deletes the row (the table keeps only holds that hold), says so, and grants the turn
        // (until present and null, raw: the record cannot tell it from absent).
        await events.WaitForAsync("agent_quota_held", e => e.GetProperty("agent").GetString() == name && e.GetProperty("until").ValueKind == JsonValueKind.Null,
            TimeSpan.FromSeconds(30));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM agent_quota_holds WHERE agent = @name", new { name }));
        Assert.DoesNotContain((await fixture.ViewAsync()).QuotaHolds, h => h.Agent == name);
        await events.WaitForAsync("container_state_changed", e => e.GetProperty("agent") is var row && row.GetProperty("name").GetString() == name
            && (!row.TryGetProperty("held", out var held) || held.ValueKind == JsonValueKind.Null));
        Assert.NotNull((await waiting).TurnId);
    }

    [Fact]
    public async Task Bad_quota_hits_and_clears_are_refused()
    {
        var name = await _hive.NewAgentAsync("badquota");
        await using var agent = await _hive.ConnectAsync(name);
        Assert.Equal("validation", (await agent.RefusalOfAsync(GovernanceVerbs.QuotaHit, new QuotaHitArgs(null, new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero)))).Code);
        Assert.Equal("validation", (await agent.RefusalOfAsync(GovernanceVerbs.QuotaHit, new QuotaHitArgs(null, DateTimeOffset.UtcNow.AddDays(30)))).Code);
        Assert.Equal("validation", (await agent.RefusalOfAsync(GovernanceVerbs.QuotaHit, new QuotaHitArgs("Bad Provider", null))).Code);
        Assert.Equal("forbidden", (await agent.RefusalOfAsync(GovernanceVerbs.QuotaHit, new QuotaHitArgs("openai", null))).Code);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM quota_circuits"));
        using var clear = await _hive.Http.DeleteAsync("/api/governance/circuits/anthropic");
        Assert.Equal(HttpStatusCode.NotFound, clear.StatusCode);
    }
}
