namespace Hive.Tests.Features.Governance;

/// <summary>The hive-wide budget (<c>*</c>): reached, it holds every agent; "allow one more turn" lets exactly one through.</summary>
public sealed class HiveBudgetTests(GovernanceHive fixture) : SharedHiveTests(fixture), IClassFixture<GovernanceHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_reached_hive_cap_holds_everyone_and_one_more_turn_lets_exactly_one_through()
    {
        var names = await _hive.NewAgentsAsync("first", "second", "third");
        await using var first = await _hive.ConnectAsync(names[0]);
        AgentClient.Ok(await first.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(first), input: 50)));
        using (var set = await _hive.Http.PutAsJsonAsync("/api/governance/budgets/*", new { daily_tokens = 10 })) set.EnsureSuccessStatusCode();

        await using var second = await _hive.ConnectAsync(names[1]);
        await using var third = await _hive.ConnectAsync(names[2]);
        var secondWaits = GovernanceHive.BeginAsync(second, 3_000);
        var thirdWaits = GovernanceHive.BeginAsync(third, 3_000);
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM budget_questions WHERE scope = '*' AND state = 'open'") == 1,
            what: "the hive's question");
        var question = _hive.QueryDb<long>("SELECT question_id FROM budget_questions WHERE scope = '*'");

        using (var answer = await _hive.Http.PostAsJsonAsync($"/api/questions/{question}/answer", new { answer = "allow one more turn" }))
            answer.EnsureSuccessStatusCode();
        var replies = await Task.WhenAll(secondWaits, thirdWaits);
        Assert.Single(replies, r => r.TryGetProperty("turn_id", out _));
        Assert.Single(replies, r => r.TryGetProperty("held", out var held) && held.GetProperty("reason").GetString() == "budget");
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM budget_allowances"));
    }
}
