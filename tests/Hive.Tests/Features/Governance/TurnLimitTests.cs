namespace Hive.Tests.Features.Governance;

/// <summary>A hive with a short turn limit and a price table: an over-long turn is told to stop and then ended; an unpriced report is priced from its model.</summary>
public sealed class TurnLimitTests(TurnLimitTests.Hive fixture) : SharedHiveTests(fixture), IClassFixture<TurnLimitTests.Hive>
{
    public sealed class Hive : GovernanceHive
    {
        protected override string[] Args =>
        [
            .. base.Args, "--Hive:Governance:MaxTurnMinutes", "0.02",
            "--Hive:Governance:Prices:priced-1:InputPerMtok", "3", "--Hive:Governance:Prices:priced-1:OutputPerMtok", "15",
        ];
    }

    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_turn_over_its_time_limit_is_told_to_stop_then_ended_and_its_messages_come_back()
    {
        var name = await _hive.NewAgentAsync("slow");
        await using var events = await _hive.OpenEventsAsync();
        await using var turn = await _hive.ConnectAsync(name);
        await using var agent = await _hive.ConnectAsync(name);
        await agent.SendAsync(name, "think");
        Assert.NotNull(await agent.RecvAsync(1000));
        var id = await GovernanceHive.GrantedAsync(turn);

        var stop = AgentClient.Ok(await turn.CallAsync(new { op = "watch_turn", turn_id = id, wait_ms = 30_000 }));
        Assert.Equal("stop", stop.GetProperty("state").GetString());
        Assert.Equal("max_turn_minutes", stop.GetProperty("reason").GetString());
        var ended = (await events.WaitForAsync("turn_ended", e => e.GetProperty("turn_id").GetInt64() == id)).Json;
        Assert.Equal("max_turn_minutes", ended.GetProperty("reason").GetString());
        var again = await agent.RecvAsync(5000);
        Assert.True(again!.Value.GetProperty("redelivered").GetBoolean());
    }

    [Fact]
    public async Task A_turn_without_a_cost_is_priced_from_its_models_price_and_an_unknown_model_counts_tokens_only()
    {
        var name = await _hive.NewAgentAsync("priced");
        await using var agent = await _hive.ConnectAsync(name);
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(agent), input: 1_000_000, output: 100_000, model: "priced-1")));
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(agent), input: 500, output: 0, model: "unknown-model")));

        var spent = (await fixture.GovernanceAsync()).GetProperty("budgets").EnumerateArray()
            .Single(b => b.GetProperty("scope").GetString() == name).GetProperty("spent");
        Assert.Equal(3 + 1.5, spent.GetProperty("day_usd").GetDouble(), 6);
        Assert.Equal(1_100_500, spent.GetProperty("day_tokens").GetInt64());
        Assert.Equal(1, spent.GetProperty("day_unpriced_turns").GetInt64());
        Assert.Equal(["priced", "unknown"], _hive.QueryDbList<string>("SELECT cost_source FROM spend WHERE agent = @name ORDER BY id", new { name }));
    }
}
