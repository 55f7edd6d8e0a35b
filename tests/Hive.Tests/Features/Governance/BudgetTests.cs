using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Features.Governance;

namespace Hive.Tests.Features.Governance;

/// <summary>Budgets: a cap crossed by a turn holds the next, asks the operator exactly once, and the answer is applied.</summary>
public sealed class BudgetTests(GovernanceHive fixture) : SharedHiveTests(fixture), IClassFixture<GovernanceHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_cap_crossed_holds_the_next_turn_asks_once_and_raise_lets_it_run()
    {
        var name = await _hive.NewAgentAsync("spender");
        await using var events = await _hive.OpenEventsAsync();
        using (var set = await _hive.Http.PutAsJsonAsync($"/api/governance/budgets/{name}", new { daily_usd = 0.05 }))
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        await using var turn = await _hive.ConnectAsync(name);
        await using var agent = await _hive.ConnectAsync(name);

        var first = await GovernanceHive.GrantedAsync(turn);
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(first, cost: 0.04)));
        Assert.Equal(0.05, (await events.WaitForPayloadAsync<BudgetReachedPayload>("budget_warning", e => e.Scope == name)).Cap);
        var second = await GovernanceHive.GrantedAsync(turn);
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(second, cost: 0.02)));
        var exceeded = await events.WaitForPayloadAsync<BudgetReachedPayload>("budget_exceeded", e => e.Scope == name);
        Assert.Equal(0.06, exceeded.Spent, 6);

        Assert.Equal("budget", (await GovernanceHive.BeginTurnAsync(turn, 100)).Held!.Reason);
        Assert.Equal("budget", (await GovernanceHive.BeginTurnAsync(turn, 100)).Held!.Reason);
        var questions = _hive.QueryDbList<(long Id, string Question, string Options)>(
            "SELECT id, question, options FROM questions WHERE asker = 'hive' AND answered_at IS NULL AND question LIKE @like", new { like = $"{name} %" });
        var question = Assert.Single(questions);
        var raise = JsonSerializer.Deserialize<string[]>(question.Options)!.First(o => o.StartsWith("raise", StringComparison.Ordinal));
        Assert.Equal("raise to $0.11 for today", raise);

        var waiting = GovernanceHive.BeginTurnAsync(turn, 10_000);
        using (var answer = await _hive.Http.PostAsJsonAsync($"/api/questions/{question.Id}/answer", new { answer = raise }))
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.NotNull((await waiting).TurnId);
        var budget = (await _hive.GetAsync<GovernanceView>("/api/governance")).Budgets.Single(b => b.Scope == name);
        Assert.Equal(0.11, budget.DailyUsd);
        Assert.Equal(0.05, budget.Own.DailyUsd); // the raise holds for today only
        Assert.Equal(0.06, budget.Spent.DayUsd, 6);
        Assert.Contains(_hive.QueryDbList<string>("SELECT action FROM interventions WHERE target = @name", new { name }), a => a == "budget_answer");
    }

    [Fact]
    public async Task Allow_one_more_turn_lets_exactly_one_through()
    {
        var name = await _hive.NewAgentAsync("onemore");
        using (var set = await _hive.Http.PutAsJsonAsync($"/api/governance/budgets/{name}", new { daily_tokens = 100 })) set.EnsureSuccessStatusCode();
        await using var turn = await _hive.ConnectAsync(name);
        await using var agent = await _hive.ConnectAsync(name);
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(turn), input: 150)));
        Assert.Equal("budget", (await GovernanceHive.BeginTurnAsync(turn, 100)).Held!.Reason);
        var question = _hive.QueryDb<long>("SELECT id FROM questions WHERE asker = 'hive' AND answered_at IS NULL AND question LIKE @like", new { like = $"{name} %" });

        using (var answer = await _hive.Http.PostAsJsonAsync($"/api/questions/{question}/answer", new { answer = "allow one more turn" })) answer.EnsureSuccessStatusCode();
        var extra = await GovernanceHive.GrantedAsync(turn);
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(extra, input: 10)));
        Assert.Equal("budget", (await GovernanceHive.BeginTurnAsync(turn, 100)).Held!.Reason);
        Assert.Equal(2, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = 'hive' AND question LIKE @like", new { like = $"{name} %" }));
    }

    [Theory]
    [InlineData("{\"daily_usd\": -1}", HttpStatusCode.BadRequest)]
    [InlineData("{\"daily_usd\": 1e9}", HttpStatusCode.BadRequest)]
    [InlineData("{\"monthly_tokens\": -5}", HttpStatusCode.BadRequest)]
    [InlineData("{\"daily_usd\": \"lots\"}", HttpStatusCode.BadRequest)]
    [InlineData("{\"dailyUsd\": 1}", HttpStatusCode.BadRequest)]
    [InlineData("{\"bogus\": 1}", HttpStatusCode.BadRequest)]
    public async Task Bad_caps_are_refused_and_change_nothing(string body, HttpStatusCode expected)
    {
        var name = await _hive.NewAgentAsync("badcaps");
        var audit = _hive.QueryDb<long>("SELECT count(*) FROM interventions");
        using var put = await _hive.Http.PutAsync($"/api/governance/budgets/{name}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(expected, put.StatusCode);
        Assert.Equal("application/problem+json", put.Content.Headers.ContentType?.MediaType);
        Assert.Equal(audit, _hive.QueryDb<long>("SELECT count(*) FROM interventions"));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM budgets WHERE scope = @name", new { name }));
    }

    [Fact]
    public async Task A_budget_for_an_unknown_agent_is_not_found()
    {
        using var put = await _hive.Http.PutAsJsonAsync("/api/governance/budgets/nobody-here", new { daily_usd = 1 });
        Assert.Equal(HttpStatusCode.NotFound, put.StatusCode);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM budgets WHERE scope = 'nobody-here'"));
    }
}
