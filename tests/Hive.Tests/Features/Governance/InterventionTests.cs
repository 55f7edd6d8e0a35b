using Hive.Contracts.Agents;
using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Features.Governance;

namespace Hive.Tests.Features.Governance;

/// <summary>Interventions: one row per action at the actor's authority, a lower authority never undoes a higher one's, a revert restores.</summary>
public sealed class InterventionTests(GovernanceHive fixture) : SharedHiveTests(fixture), IClassFixture<GovernanceHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private long Rows(string target) => _hive.QueryDb<long>("SELECT count(*) FROM interventions WHERE target IS @target", new { target });

    [Fact]
    public async Task Each_action_leaves_exactly_one_row_and_a_revert_restores_a_budget()
    {
        var name = await _hive.NewAgentAsync("governed");
        await using var events = await _hive.OpenEventsAsync();
        using (var set = await _hive.Http.PutAsJsonAsync($"/api/governance/budgets/{name}", new { daily_usd = 2.5 })) set.EnsureSuccessStatusCode();
        using (var set = await _hive.Http.PutAsJsonAsync($"/api/governance/budgets/{name}", new { daily_usd = 9 })) set.EnsureSuccessStatusCode();
        using (var pause = await _hive.Http.PostAsync($"/api/governance/agents/{name}/pause", null)) pause.EnsureSuccessStatusCode();
        using (var again = await _hive.Http.PostAsync($"/api/governance/agents/{name}/pause", null)) again.EnsureSuccessStatusCode(); // no change, no row
        using (var resume = await _hive.Http.PostAsync($"/api/governance/agents/{name}/resume", null)) resume.EnsureSuccessStatusCode();
        Assert.Equal(4, Rows(name));

        var list = await _hive.GetAsync<List<InterventionView>>($"/api/interventions?agent={name}");
        Assert.Equal(["resume", "pause", "budget_set", "budget_set"], list.Select(i => i.Action));
        Assert.All(list, i => Assert.Equal("guardian", i.AuthorityName));
        var raise = list[2];
        // before and after are the action's own state, JSON by design.
        Assert.Equal(2.5, raise.Before!.Value.GetProperty("daily_usd").GetDouble());
        Assert.Equal(9, raise.After!.Value.GetProperty("daily_usd").GetDouble());

        using (var revert = await _hive.Http.PostAsync($"/api/interventions/{raise.Id}/revert", null))
        {
            Assert.Equal(HttpStatusCode.OK, revert.StatusCode);
            Assert.True((await revert.Content.ReadFromJsonAsync<InterventionView>(HiveJson.Options))!.RevertedBy > raise.Id);
        }
        var budget = (await fixture.ViewAsync()).Budgets.Single(b => b.Scope == name);
        Assert.Equal(2.5, budget.DailyUsd);
        Assert.Equal(5, Rows(name)); // the revert is an intervention of its own
        await events.WaitForPayloadAsync<InterventionRecordedPayload>("intervention_recorded", e => e.Intervention.RevertedBy is not null);
        using var twice = await _hive.Http.PostAsync($"/api/interventions/{raise.Id}/revert", null);
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
    }

    [Fact]
    public async Task The_manager_pauses_at_its_level_and_cannot_resume_what_the_operator_paused()
    {
        var names = await _hive.NewAgentsAsync("worker1", "worker2");
        await using var manager = await _hive.ConnectAsync("manager");
        await manager.CallAsync(ManagerVerbs.Pause, new TargetAndReasonArgs(names[0], "looping"));
        var row = _hive.QueryDb<(string Actor, long Authority, string Reason)>(
            "SELECT actor, authority, reason FROM interventions WHERE target = @target AND action = 'pause'", new { target = names[0] });
        Assert.Equal(("manager", 3L, "looping"), row);
        await manager.CallAsync(ManagerVerbs.Resume, new TargetAndReasonArgs(names[0], null));

        using (var pause = await _hive.Http.PostAsync($"/api/governance/agents/{names[1]}/pause", null)) pause.EnsureSuccessStatusCode();
        var refused = await manager.RefusalOfAsync(ManagerVerbs.Resume, new TargetAndReasonArgs(names[1], null));
        Assert.Equal("forbidden", refused.Code);
        Assert.Contains(names[1], (await fixture.ViewAsync()).Paused.Select(p => p.Agent));
        Assert.Equal(1, Rows(names[1]));
        Assert.Equal("forbidden", (await manager.RefusalOfAsync(ManagerVerbs.Pause, new TargetAndReasonArgs("manager", null))).Code);
        await using (var worker = await _hive.ConnectAsync(names[0]))
            Assert.Equal("forbidden", (await worker.RefusalOfAsync(ManagerVerbs.Pause, new TargetAndReasonArgs(names[1], null))).Code);

        // The operator's own revert of its pause is allowed.
        var pauseId = _hive.QueryDb<long>("SELECT id FROM interventions WHERE target = @target AND action = 'pause'", new { target = names[1] });
        using (var revert = await _hive.Http.PostAsync($"/api/interventions/{pauseId}/revert", null)) Assert.Equal(HttpStatusCode.OK, revert.StatusCode);
        Assert.DoesNotContain(names[1], (await fixture.ViewAsync()).Paused.Select(p => p.Agent));
    }

    [Fact]
    public async Task A_revert_of_an_unknown_intervention_is_not_found()
    {
        using var revert = await _hive.Http.PostAsync("/api/interventions/999999/revert", null);
        Assert.Equal(HttpStatusCode.NotFound, revert.StatusCode);
        using var bad = await _hive.Http.GetAsync("/api/interventions?since=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task A_revert_of_what_no_longer_holds_is_refused_and_marks_nothing()
    {
        using (var halt = await _hive.Http.PostAsync("/api/governance/halt", null)) halt.EnsureSuccessStatusCode();
        var haltId = _hive.QueryDb<long>("SELECT max(id) FROM interventions WHERE action = 'halt'");
        using (var resume = await _hive.Http.PostAsync("/api/governance/resume", null)) resume.EnsureSuccessStatusCode();

        using var revert = await _hive.Http.PostAsync($"/api/interventions/{haltId}/revert", null);
        Assert.Equal(HttpStatusCode.Conflict, revert.StatusCode);
        Assert.Contains("nothing to undo", await revert.Content.ReadAsStringAsync());
        Assert.Null(_hive.QueryDb<long?>("SELECT reverted_by FROM interventions WHERE id = @haltId", new { haltId }));
        Assert.Equal(JsonValueKind.Null, (await fixture.GovernanceAsync()).GetProperty("halted").ValueKind); // present and null: raw
    }
}
