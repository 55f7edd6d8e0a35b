namespace Hive.Tests.Features.Governance;

/// <summary>Halt, pause and resume over HTTP, as the agents' socket sees them: no turn, a running turn told to stop, recv hands nothing out.</summary>
public sealed class HoldTests(GovernanceHive fixture) : SharedHiveTests(fixture), IClassFixture<GovernanceHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_halt_stops_running_turns_holds_new_ones_and_keeps_messages_until_resume()
    {
        var name = await _hive.NewAgentAsync("halted");
        await using var events = await _hive.OpenEventsAsync();
        await using var turn = await _hive.ConnectAsync(name);
        await using var agent = await _hive.ConnectAsync(name);
        await agent.SendAsync(name, "before the halt");
        var first = await agent.RecvAsync(1000);
        Assert.NotNull(first);
        var id = await GovernanceHive.GrantedAsync(turn);
        var watching = turn.CallAsync(new { op = "watch_turn", turn_id = id, wait_ms = 30_000 });

        using (var halt = await _hive.Http.PostAsJsonAsync("/api/governance/halt", new { reason = "lunch" }))
        {
            Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
            var view = await halt.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("operator", view.GetProperty("halted").GetProperty("by").GetString());
            Assert.Equal("lunch", view.GetProperty("halted").GetProperty("reason").GetString());
        }
        await events.WaitForAsync("hive_halted");
        var stop = AgentClient.Ok(await watching);
        Assert.Equal("stop", stop.GetProperty("state").GetString());
        Assert.Equal("halted", stop.GetProperty("reason").GetString());
        Assert.InRange(stop.GetProperty("grace_ms").GetInt64(), 1, 1000);

        // The harness does not answer: the host ends the turn at the grace's end, and its message comes back.
        var ended = (await events.WaitForAsync("turn_ended", e => e.GetProperty("turn_id").GetInt64() == id)).Json;
        Assert.Equal("halted", ended.GetProperty("reason").GetString());
        await agent.SendAsync(name, "during the halt");
        Assert.Null(await agent.RecvAsync(300));
        var held = await GovernanceHive.BeginAsync(await _hive.ConnectAsync(name), waitMs: 100);
        Assert.Equal("halted", held.GetProperty("held").GetProperty("reason").GetString());
        var row = (await _hive.GetJsonAsync($"/api/agents/{name}"));
        Assert.Equal("halted", row.GetProperty("held").GetProperty("reason").GetString());

        var parked = agent.CallAsync(new { op = "recv", wait_ms = 10_000, max = 32 });
        using (var resume = await _hive.Http.PostAsync("/api/governance/resume", null)) Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        var messages = AgentClient.Ok(await parked).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["before the halt", "during the halt"], messages.Select(m => m.GetProperty("body").GetString()));
        Assert.True(messages[0].GetProperty("redelivered").GetBoolean());
        Assert.False(messages[1].TryGetProperty("redelivered", out var r) && r.GetBoolean());
        Assert.Equal(JsonValueKind.Null, (await fixture.GovernanceAsync()).GetProperty("halted").ValueKind);
    }

    [Fact]
    public async Task A_paused_agent_is_held_alone_and_resumes()
    {
        var names = await _hive.NewAgentsAsync("paused", "free");
        await using var paused = await _hive.ConnectAsync(names[0]);
        await using var free = await _hive.ConnectAsync(names[1]);
        using (var pause = await _hive.Http.PostAsync($"/api/governance/agents/{names[0]}/pause", null)) Assert.Equal(HttpStatusCode.OK, pause.StatusCode);

        Assert.Equal("paused", (await GovernanceHive.BeginAsync(paused, 100)).GetProperty("held").GetProperty("reason").GetString());
        var freeTurn = await GovernanceHive.GrantedAsync(free);
        AgentClient.Ok(await free.CallAsync(GovernanceHive.Record(freeTurn)));

        var waiting = GovernanceHive.BeginAsync(paused, 10_000);
        using (var resume = await _hive.Http.PostAsync($"/api/governance/agents/{names[0]}/resume", null)) Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        Assert.True((await waiting).TryGetProperty("turn_id", out _));
    }

    [Fact]
    public async Task Pausing_or_resuming_an_unknown_agent_is_not_found_and_changes_nothing()
    {
        var audit = _hive.QueryDb<long>("SELECT count(*) FROM interventions");
        using var pause = await _hive.Http.PostAsync("/api/governance/agents/nobody-here/pause", null);
        Assert.Equal(HttpStatusCode.NotFound, pause.StatusCode);
        Assert.Equal("application/problem+json", pause.Content.Headers.ContentType?.MediaType);
        using var resume = await _hive.Http.PostAsync("/api/governance/agents/nobody-here/resume", null);
        Assert.Equal(HttpStatusCode.NotFound, resume.StatusCode);
        Assert.Equal(audit, _hive.QueryDb<long>("SELECT count(*) FROM interventions"));
    }
}
