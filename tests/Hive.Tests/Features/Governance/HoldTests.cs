using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Features.Governance;
using Hive.Features.Messages;

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
        var watching = turn.CallAsync(GovernanceVerbs.WatchTurn, new WatchTurnArgs(id, 30_000));

        using (var halt = await _hive.Http.PostAsJsonAsync("/api/governance/halt", new { reason = "lunch" }))
        {
            Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
            var view = await halt.Content.ReadFromJsonAsync<GovernanceView>(HiveJson.Options);
            Assert.Equal("operator", view!.Halted!.By);
            Assert.Equal("lunch", view.Halted.Reason);
        }
        await events.WaitForAsync("hive_halted");
        var stop = await watching;
        Assert.Equal("stop", stop.State);
        Assert.Equal("halted", stop.Reason);
        Assert.InRange(stop.GraceMs!.Value, 1, 1000);

        // The harness does not answer: the host ends the turn at the grace's end, and its message comes back.
        var ended = await events.WaitForPayloadAsync<TurnEndedPayload>("turn_ended", e => e.TurnId == id);
        Assert.Equal("halted", ended.Reason);
        await agent.SendAsync(name, "during the halt");
        Assert.Null(await agent.RecvAsync(300));
        var held = await GovernanceHive.BeginTurnAsync(await _hive.ConnectAsync(name), waitMs: 100);
        Assert.Equal("halted", held.Held!.Reason);
        var row = await _hive.GetJsonAsync($"/api/agents/{name}"); // an agent row is assembled at run time: no record, raw
        Assert.Equal("halted", row.GetProperty("held").GetProperty("reason").GetString());

        var parked = agent.CallAsync(new { op = "recv", wait_ms = 10_000, max = 32 });
        using (var resume = await _hive.Http.PostAsync("/api/governance/resume", null)) Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        var reply = AgentClient.Ok(await parked);
        Assert.Equal(["before the halt", "during the halt"], reply.Deserialize<RecvManyReply>(HiveJson.Options)!.Messages.Select(m => m.Body));
        // The wire's own flag, raw: the record computes redelivered (and the second must not carry it true).
        var messages = reply.GetProperty("messages").EnumerateArray().ToList();
        Assert.True(messages[0].GetProperty("redelivered").GetBoolean());
        Assert.False(messages[1].TryGetProperty("redelivered", out var r) && r.GetBoolean());
        Assert.Equal(JsonValueKind.Null, (await fixture.GovernanceAsync()).GetProperty("halted").ValueKind); // present and null: raw
    }

    [Fact]
    public async Task A_paused_agent_is_held_alone_and_resumes()
    {
        var names = await _hive.NewAgentsAsync("paused", "free");
        await using var paused = await _hive.ConnectAsync(names[0]);
        await using var free = await _hive.ConnectAsync(names[1]);
        using (var pause = await _hive.Http.PostAsync($"/api/governance/agents/{names[0]}/pause", null)) Assert.Equal(HttpStatusCode.OK, pause.StatusCode);

        Assert.Equal("paused", (await GovernanceHive.BeginTurnAsync(paused, 100)).Held!.Reason);
        var freeTurn = await GovernanceHive.GrantedAsync(free);
        AgentClient.Ok(await free.CallAsync(GovernanceHive.Record(freeTurn)));

        var waiting = GovernanceHive.BeginTurnAsync(paused, 10_000);
        using (var resume = await _hive.Http.PostAsync($"/api/governance/agents/{names[0]}/resume", null)) Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        Assert.NotNull((await waiting).TurnId);
    }

    [Fact]
    public async Task A_recv_parked_before_a_pause_is_handed_nothing_until_the_resume()
    {
        var names = await _hive.NewAgentsAsync("sender", "parked");
        await using var sender = await _hive.ConnectAsync(names[0]);
        await using var parked = await _hive.ConnectAsync(names[1]);
        var waiting = parked.RecvMessageAsync(waitMs: 20_000);
        await HiveInstance.Until(() => _hive.Service<MessagesMetrics>().ParkedRecvs(names[1]) == 1, what: "the recv to park");
        using (var pause = await _hive.Http.PostAsync($"/api/governance/agents/{names[1]}/pause", null)) Assert.Equal(HttpStatusCode.OK, pause.StatusCode);

        var id = await sender.SendAsync(names[1], "hold it");
        // Not handed to the parked recv by the send: the message waits for the resume, never handed out.
        Assert.Equal(0, _hive.QueryDb<long>("SELECT delivery_count FROM messages WHERE id = @id", new { id }));
        Assert.False(waiting.IsCompleted);
        using (var resume = await _hive.Http.PostAsync($"/api/governance/agents/{names[1]}/resume", null)) Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        Assert.Equal(id, (await waiting)?.Id);
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
