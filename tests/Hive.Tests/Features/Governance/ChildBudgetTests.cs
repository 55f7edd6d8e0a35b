using Hive.Contracts.Agents;
using Hive.Features.Governance;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Governance;

/// <summary>
/// A child's budget is a share of its parent's: granted with the spawn (at once, or when the operator approves the spawn
/// it became), it is the child's monthly cost cap, so the child is held once it has spent it while its parent goes on;
/// the parent's row carries its subtree's spend; a share larger than what the parent has left is refused before
/// anything is made or asked.
/// </summary>
public sealed class ChildBudgetTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync([], "--Hive:Containers:Driver", "process");

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private static ChildSpawnArgs Child(string name, double? budget) =>
        new(name, $"{name} helps its parent", Command: ["sleep", "1000"], Budget: budget);

    private async Task ParentAsync(string name, object? maySpawn)
    {
        await CreateAsync(_hive.Http, new { name, driver = "external", may_spawn = maySpawn });
        using var set = await _hive.Http.PutAsJsonAsync($"/api/governance/budgets/{name}", new { monthly_usd = 10 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
    }

    private async Task<double?> MonthlyCapAsync(string agent) =>
        (await _hive.GetAsync<GovernanceView>("/api/governance")).Budgets.SingleOrDefault(b => b.Scope == agent)?.MonthlyUsd;

    /// <summary>One turn of <paramref name="agent"/> that its harness says cost <paramref name="usd"/>.</summary>
    private static async Task SpendAsync(AgentClient turn, AgentClient agent, double usd) =>
        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(turn), cost: usd)));

    private long Count(string sql, object? args = null) => _hive.QueryDb<long>(sql, args);

    [Fact]
    public async Task A_child_is_held_once_it_has_spent_its_share_while_its_parent_goes_on_and_the_parents_row_sums_the_subtree()
    {
        await ParentAsync("pia", new { depth = 1, children = 2 });
        await using var pia = await _hive.ConnectAsync("pia");
        await using var piaTurns = await _hive.ConnectAsync("pia");
        await SpendAsync(piaTurns, pia, 2);

        // Within pia's limits: spawned at once, with $1 of pia's $10 as its monthly cap, set by pia.
        var spawned = await pia.CallAsync(HierarchyVerbs.Spawn, Child("kit", 1));
        Assert.Equal(HierarchyVerbs.Spawned, spawned.Outcome);
        Assert.Equal(1, await MonthlyCapAsync("kit"));
        Assert.Equal(1, Count("SELECT count(*) FROM interventions WHERE action = 'budget_set' AND actor = 'pia' AND target = 'kit'"));

        // kit spends its $1 in one turn: its next turn is held by its budget; pia's is granted.
        await using var events = await _hive.OpenEventsAsync();
        await using var kit = await _hive.ConnectAsync("kit");
        await using var kitTurns = await _hive.ConnectAsync("kit");
        await SpendAsync(kitTurns, kit, 1);
        Assert.Equal("budget", (await GovernanceHive.BeginTurnAsync(kitTurns, 100)).Held!.Reason);
        await GovernanceHive.GrantedAsync(piaTurns);

        // pia's row came again when kit's spend was counted: its own $2, its subtree's $3; kit's subtree is kit alone.
        var raised = await NextRowAsync(events, "pia", r => r.GetProperty("subtree_spend_month_usd").GetDouble() > 2.5);
        Assert.Equal((2, 3, 3), (raised.GetProperty("spend_month_usd").GetDouble(), raised.GetProperty("subtree_spend_month_usd").GetDouble(),
            raised.GetProperty("subtree_spend_today_usd").GetDouble()));
        var kitRow = (await RowAsync(_hive, "kit"))!.Value;
        Assert.Equal((1, 1), (kitRow.GetProperty("spend_month_usd").GetDouble(), kitRow.GetProperty("subtree_spend_month_usd").GetDouble()));

        // pia has $10 - $2 spent - $1 handed to kit = $7 left: a share of $20 is refused with the figures, and nothing is made.
        var agents = Count("SELECT count(*) FROM agents");
        var refused = await pia.RefusalOfAsync(HierarchyVerbs.Spawn, Child("kai", 20));
        Assert.Equal(("bad_request", "a budget of $20.00 is more than pia's remaining budget this month ($7.00 of $10.00)"), (refused.Code, refused.Error));
        Assert.Equal(agents, Count("SELECT count(*) FROM agents"));
        Assert.Equal(0, Count("SELECT count(*) FROM approvals"));
        Assert.Null(await MonthlyCapAsync("kai"));
        var outOfRange = await pia.RefusalOfAsync(HierarchyVerbs.Spawn, Child("kai", 0));
        Assert.Equal("bad_request", outOfRange.Code);
        Assert.Equal(agents, Count("SELECT count(*) FROM agents"));
    }

    [Fact]
    public async Task A_spawn_beyond_the_limits_carries_its_budget_to_the_operator_and_approving_it_sets_the_childs_cap()
    {
        await ParentAsync("ada", null); // no may_spawn: every spawn of ada's is asked
        await using var ada = await _hive.ConnectAsync("ada");

        var asked = await ada.CallAsync(HierarchyVerbs.Spawn, Child("bea", 2));
        Assert.Equal(HierarchyVerbs.Asked, asked.Outcome);
        Assert.Equal(2, _hive.QueryDb<double>("SELECT json_extract(payload, '$.budget') FROM approvals WHERE id = @id", new { id = asked.ApprovalId }));
        Assert.Null(await MonthlyCapAsync("bea"));

        using (var approve = await _hive.Http.PostAsync($"/api/approvals/{asked.ApprovalId}/approve", null))
            Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        Assert.Equal("ada", _hive.QueryDb<string>("SELECT parent FROM agents WHERE name = 'bea'"));
        Assert.Equal(2, await MonthlyCapAsync("bea"));
        Assert.Equal(1, Count("SELECT count(*) FROM interventions WHERE action = 'budget_set' AND actor = 'operator' AND target = 'bea'"));

        // bea's $2 is spoken for: ada has $8 left, and a larger share is refused before it is asked.
        var refused = await ada.RefusalOfAsync(HierarchyVerbs.Spawn, Child("cyd", 9));
        Assert.Equal(("bad_request", "a budget of $9.00 is more than ada's remaining budget this month ($8.00 of $10.00)"), (refused.Code, refused.Error));
        Assert.Equal(1, Count("SELECT count(*) FROM approvals WHERE kind = 'spawn'"));
        Assert.Equal(HierarchyVerbs.Asked, (await ada.CallAsync(HierarchyVerbs.Spawn, Child("cyd", 8))).Outcome);
    }
}
