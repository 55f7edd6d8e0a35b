using Hive.Contracts.Governance;
using Hive.Features.Governance;

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

        var stop = await turn.CallAsync(GovernanceVerbs.WatchTurn, new WatchTurnArgs(id, 30_000));
        Assert.Equal("stop", stop.State);
        Assert.Equal("max_turn_minutes", stop.Reason);
        var ended = await events.WaitForPayloadAsync<TurnEndedPayload>("turn_ended", e => e.TurnId == id);
        Assert.Equal("max_turn_minutes", ended.Reason);
        var again = await agent.RecvAsync(5000);
        Assert.True(again!.Value.GetProperty("redelivered").GetBoolean()); // the wire's flag, raw: the record computes it
    }

    [Fact]
    public async Task A_turn_without_a_cost_is_priced_from_its_models_price_and_an_unknown_model_counts_tokens_only()
    {
        var name = await _hive.NewAgentAsync("priced");
        await using var agent = await _hive.ConnectAsync(name);
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(agent), input: 1_000_000, output: 100_000, model: "priced-1")));
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(agent), input: 500, output: 0, model: "unknown-model")));

        var spent = (await _hive.GetAsync<GovernanceView>("/api/governance")).Budgets.Single(b => b.Scope == name).Spent;
        Assert.Equal(3 + 1.5, spent.DayUsd, 6);
        Assert.Equal(1_100_500, spent.DayTokens);
        Assert.Equal(1, spent.DayUnpricedTurns);
        Assert.Equal(["priced", "unknown"], _hive.QueryDbList<string>("SELECT cost_source FROM spend WHERE agent = @name ORDER BY id", new { name }));
    }
}
