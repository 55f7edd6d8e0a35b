using Hive.Contracts.Governance;
using Hive.Contracts.TurnStats;
using Hive.Features.Governance;
using Hive.Features.Governance.Spend;
using MediatR;

namespace Hive.Tests.Features.Governance;

/// <summary>
/// The gateway's side of Governance, driven through the in-process host's mediator until the gateway drives it:
/// a call is checked before it is forwarded and charged when it is metered; a metered turn is accounted by its meter; a
/// budget refuses the next call with a person's sentence and one question; the provider's own 429 opens its circuit.
/// What is asserted is what the operator sees: <c>/api/governance</c>, questions, turns, the audit log.
/// </summary>
public sealed class ModelCallTests(GovernanceHive fixture) : SharedHiveTests(fixture), IClassFixture<GovernanceHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private IMediator Mediator => _hive.Service<IMediator>();

    private Task<CheckModelCall.Verdict> CheckAsync(string agent, string provider = "anthropic") => Mediator.Send(new CheckModelCall.Query(agent, provider));

    private Task ChargeAsync(string agent, long? turnId, double cost, long input = 1000, long output = 200) =>
        Mediator.Send(new ChargeModelCall.Command(agent, "anthropic", turnId, "claude-test", input, output, 0, 0, cost));

    private async Task<BudgetView?> BudgetAsync(string scope) => (await fixture.ViewAsync()).Budgets.SingleOrDefault(b => b.Scope == scope);

    private async Task<double> DaySpentAsync(string scope) => (await BudgetAsync(scope))!.Spent.DayUsd;

    [Fact]
    public async Task A_budget_reached_by_metered_calls_refuses_the_next_call_asks_once_and_raise_lets_it_through()
    {
        var name = await _hive.NewAgentAsync("metered");
        await using var events = await _hive.OpenEventsAsync();
        using (var set = await _hive.Http.PutAsJsonAsync($"/api/governance/budgets/{name}", new { daily_usd = 0.01 })) set.EnsureSuccessStatusCode();
        await using var turn = await _hive.ConnectAsync(name);
        var turnId = await GovernanceHive.GrantedAsync(turn);

        var first = await CheckAsync(name);
        Assert.True(first.Allowed);
        Assert.Equal(turnId, first.TurnId);
        await ChargeAsync(name, first.TurnId, 0.008);
        Assert.True((await CheckAsync(name)).Allowed);
        await ChargeAsync(name, turnId, 0.008); // in flight when the cap was crossed: it finishes, and is counted
        await events.WaitForPayloadAsync<BudgetReachedPayload>("budget_exceeded", e => e.Scope == name);

        var refused = await CheckAsync(name);
        Assert.False(refused.Allowed);
        Assert.Equal("budget", refused.Reason);
        Assert.Equal(turnId, refused.TurnId);
        Assert.Equal($"hive: {name} is over its daily budget ($0.016 of $0.01); the operator has been asked", refused.Refusal);
        Assert.False((await CheckAsync(name)).Allowed);
        Assert.Equal(0.016, await DaySpentAsync(name), 6);

        var question = Assert.Single(_hive.QueryDbList<(long Id, string Options)>(
            "SELECT id, options FROM questions WHERE asker = 'hive' AND answered_at IS NULL AND question LIKE @like", new { like = $"{name} %" }));
        var raise = JsonSerializer.Deserialize<string[]>(question.Options)!.First(o => o.StartsWith("raise", StringComparison.Ordinal));
        using (var answer = await _hive.Http.PostAsJsonAsync($"/api/questions/{question.Id}/answer", new { answer = raise })) answer.EnsureSuccessStatusCode();
        Assert.True((await CheckAsync(name)).Allowed); // the raise is applied in the answer's own change
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = 'hive' AND question LIKE @like", new { like = $"{name} %" }));
    }

    [Fact]
    public async Task A_metered_turn_is_accounted_by_its_meter_once_and_a_report_that_disagrees_is_audited()
    {
        var name = await _hive.NewAgentAsync("meter");
        await using var agent = await _hive.ConnectAsync(name);
        var turnId = await GovernanceHive.GrantedAsync(agent);
        await ChargeAsync(name, turnId, 0.03, input: 1000, output: 100);
        await ChargeAsync(name, turnId, 0.02, input: 500, output: 50);
        var hiveBefore = await DaySpentAsync("*");

        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(turnId, cost: 0, input: 7, output: 3)));

        var turn = (await _hive.GetAsync<List<TurnView>>($"/api/agents/{name}/turns")).Single();
        Assert.Equal(0.05, turn.CostUsd!.Value, 6);
        Assert.Equal("metered", turn.CostSource);
        Assert.Equal(0, turn.ReportedCostUsd!.Value);
        Assert.Equal((1500L, 150L), (turn.InputTokens, turn.OutputTokens));
        // Counted once, as its calls were made: the record adds nothing.
        Assert.Equal(0.05, await DaySpentAsync(name), 6);
        Assert.Equal(hiveBefore, await DaySpentAsync("*"), 6);
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM audit_log WHERE actor = @name AND action LIKE '%disagrees with the meter%'",
            new { name }) == 1, TimeSpan.FromSeconds(10), "the disagreement audited");
        Assert.Contains("metered $0.05", _hive.QueryDb<string>("SELECT result FROM audit_log WHERE actor = @name", new { name }));
    }

    [Fact]
    public async Task A_hostile_report_holds_no_other_agent()
    {
        var names = await _hive.NewAgentsAsync("hostile", "bystander", "capped");
        var (hostile, bystander, capped) = (names[0], names[1], names[2]);
        await using var agent = await _hive.ConnectAsync(hostile);
        var now = DateTimeOffset.UtcNow;

        // No turn, a turn never granted, a backdated or future start: refused, nothing stored or spent.
        // A null turn id, as a harness that has none sends it: the raw line.
        Assert.Equal("bad_request", (await agent.CallAsync(GovernanceHive.Record(null, cost: 1_000_000))).GetProperty("code").GetString());
        Assert.Equal("not_found", (await agent.RefusalOfAsync(TurnStatsVerbs.RecordTurn, GovernanceHive.RecordArgs(999_999, cost: 1_000_000))).Code);
        var turnId = await GovernanceHive.GrantedAsync(agent);
        RecordTurnArgs Started(DateTimeOffset startedAt, DateTimeOffset endedAt) =>
            new(null, null, "ok", startedAt, endedAt, null, null, null, null, null, null, null, null, null, null, 1_000_000, turnId);
        var longAgo = await agent.RefusalOfAsync(TurnStatsVerbs.RecordTurn, Started(now.AddDays(-300), now));
        Assert.Equal("validation", longAgo.Code); // no turn lasts 300 days
        var backdated = await agent.RefusalOfAsync(TurnStatsVerbs.RecordTurn, Started(now.AddHours(-1), now));
        Assert.Equal("bad_request", backdated.Code);
        Assert.Contains("before turn", backdated.Error);
        var future = await agent.RefusalOfAsync(TurnStatsVerbs.RecordTurn, Started(now.AddMinutes(10), now.AddMinutes(11)));
        Assert.Contains(future.Code, new[] { "bad_request", "validation" });
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM turns WHERE agent = @hostile", new { hostile }));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM spend WHERE agent = @hostile", new { hostile }));

        // A million dollars for its granted turn: charged at the bound, to itself only, and audited.
        var hiveBefore = await DaySpentAsync("*");
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(turnId, cost: 1_000_000)));
        Assert.Equal(25, await DaySpentAsync(hostile), 6);
        Assert.Equal(hiveBefore, await DaySpentAsync("*"), 6);
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM audit_log WHERE actor = @hostile AND action LIKE '%per-turn bound%'",
            new { hostile }) == 1, TimeSpan.FromSeconds(10), "the bound audited");
        Assert.Equal("conflict", (await agent.RefusalOfAsync(TurnStatsVerbs.RecordTurn, GovernanceHive.RecordArgs(turnId, cost: 1))).Code); // ended: once only

        // Its own caps take what it reports; the hive only what they had room for.
        using (var set = await _hive.Http.PutAsJsonAsync($"/api/governance/budgets/{capped}", new { daily_usd = 1.0 })) set.EnsureSuccessStatusCode();
        await using (var own = await _hive.ConnectAsync(capped))
            AgentClient.Ok(await own.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(own), cost: 5)));
        Assert.Equal(5, await DaySpentAsync(capped), 6);
        Assert.Equal(hiveBefore + 1, await DaySpentAsync("*"), 6);

        // No other agent is held.
        Assert.True((await CheckAsync(bystander)).Allowed);
        await using var peer = await _hive.ConnectAsync(bystander);
        AgentClient.Ok(await peer.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(peer))));
        Assert.Null((await fixture.ViewAsync()).Budgets.Single(b => b.Scope == "*").Over);
    }

    [Fact]
    public async Task An_agents_quota_hit_holds_itself_and_cannot_reopen_what_the_operator_cleared()
    {
        var names = await _hive.NewAgentsAsync("limited", "peer");
        var (limited, peer) = (names[0], names[1]);
        await using var events = await _hive.OpenEventsAsync();
        await using var reporter = await _hive.ConnectAsync(limited);
        await using var other = await _hive.ConnectAsync(peer);
        var week = DateTimeOffset.UtcNow.AddDays(7).AddMinutes(-1);

        var hit = await reporter.CallAsync(GovernanceVerbs.QuotaHit, new QuotaHitArgs(null, week));
        Assert.Equal("agent", hit.Held);
        Assert.Equal("quota", (await GovernanceHive.BeginTurnAsync(reporter, 100)).Held!.Reason);
        Assert.Equal("quota", (await CheckAsync(limited)).Reason);
        AgentClient.Ok(await other.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(other))));
        Assert.True((await CheckAsync(peer)).Allowed);
        var view = await fixture.ViewAsync();
        Assert.Empty(view.Circuits);
        Assert.Equal(limited, Assert.Single(view.QuotaHolds).Agent);

        // The operator clears it: the reporter may work again, and no report re-opens it within the week it named.
        var waiting = GovernanceHive.BeginTurnAsync(reporter, 10_000);
        using (var clear = await _hive.Http.DeleteAsync("/api/governance/circuits/anthropic")) Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        Assert.NotNull((await waiting).TurnId);
        var again = await other.CallAsync(GovernanceVerbs.QuotaHit, new QuotaHitArgs(null, week));
        Assert.Equal("agent", again.Held);
        Assert.Empty((await fixture.ViewAsync()).Circuits);
        Assert.True((await CheckAsync(limited)).Allowed);
        Assert.Equal("quota", (await CheckAsync(peer)).Reason); // the second reporter holds itself only
        using (var clear = await _hive.Http.DeleteAsync("/api/governance/circuits/anthropic")) Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        Assert.Empty((await fixture.ViewAsync()).QuotaHolds);
    }

    [Fact]
    public async Task The_providers_own_limit_opens_its_circuit_for_every_agent_on_it_until_its_reset()
    {
        var names = await _hive.NewAgentsAsync("gw-one", "gw-two");
        foreach (var name in names)
            using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name = name + "-p", driver = "external", provider = "limited" }))
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var (one, two, elsewhere) = (names[0] + "-p", names[1] + "-p", names[0]);
        await using var events = await _hive.OpenEventsAsync();
        var until = DateTimeOffset.UtcNow.AddSeconds(120);

        await Mediator.Send(new OpenProviderCircuit.Command("limited", until, one, "429"));
        await events.WaitForPayloadAsync<QuotaCircuitChangedPayload>("quota_circuit_changed", e => e.Provider == "limited");
        var circuit = Assert.Single((await fixture.ViewAsync()).Circuits, c => c.Provider == "limited");
        Assert.Equal("hive", circuit.Source);
        var refused = await CheckAsync(two, "limited");
        Assert.Equal("quota", refused.Reason);
        Assert.Equal(until.ToUnixTimeSeconds(), refused.RetryAt!.Value.ToUnixTimeSeconds());
        Assert.StartsWith("hive: limited is at its usage or rate limit", refused.Refusal);
        await using (var held = await _hive.ConnectAsync(two))
            Assert.Equal("quota", (await GovernanceHive.BeginTurnAsync(held, 100)).Held!.Reason);
        Assert.True((await CheckAsync(elsewhere)).Allowed); // another provider's agent is not held

        // A later reset wins, an earlier one changes nothing, and a far one is cut to a week.
        await Mediator.Send(new OpenProviderCircuit.Command("limited", until.AddSeconds(-60), one, "429"));
        Assert.Equal(until.ToUnixTimeSeconds(), (await CheckAsync(one, "limited")).RetryAt!.Value.ToUnixTimeSeconds());
        await Mediator.Send(new OpenProviderCircuit.Command("limited", DateTimeOffset.UtcNow.AddDays(400), one, "529"));
        Assert.InRange((await CheckAsync(one, "limited")).RetryAt!.Value, DateTimeOffset.UtcNow.AddDays(6), DateTimeOffset.UtcNow.AddDays(7));
        Assert.Contains(_hive.QueryDbList<(string Actor, string Action)>("SELECT actor, action FROM interventions WHERE target = 'limited'"),
            r => r == ("hive", "quota_circuit_opened"));

        using (var clear = await _hive.Http.DeleteAsync("/api/governance/circuits/limited")) Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        Assert.True((await CheckAsync(two, "limited")).Allowed);
    }
}
