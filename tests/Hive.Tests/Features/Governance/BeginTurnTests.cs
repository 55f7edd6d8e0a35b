using Hive.Contracts.Governance;
using Hive.Contracts.TurnStats;

namespace Hive.Tests.Features.Governance;

/// <summary>begin_turn, watch_turn and record_turn on the socket: slots, the fair queue, a turn tied to its connection, bad input.</summary>
public sealed class BeginTurnTests(GovernanceHive fixture) : SharedHiveTests(fixture), IClassFixture<GovernanceHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_granted_turn_is_shown_running_and_ends_with_its_record()
    {
        var name = await _hive.NewAgentAsync("turner");
        await using var events = await _hive.OpenEventsAsync();
        await using var turn = await _hive.ConnectAsync(name);
        await using var agent = await _hive.ConnectAsync(name);

        var id = await GovernanceHive.GrantedAsync(turn);
        var granted = await events.WaitForPayloadAsync<TurnGrantedPayload>("turn_granted", e => e.Turn.Agent == name);
        Assert.Equal(id, granted.Turn.TurnId);
        var running = (await fixture.ViewAsync()).Running.Single(t => t.Agent == name);
        Assert.Equal(id, running.TurnId);

        AgentClient.Ok(await agent.CallAsync(GovernanceHive.Record(id, cost: 0.01)));
        var ended = await events.WaitForPayloadAsync<TurnEndedPayload>("turn_ended", e => e.TurnId == id);
        Assert.Equal("recorded", ended.Reason);
        Assert.Equal(0.01, ended.CostUsd!.Value);
        Assert.DoesNotContain((await fixture.ViewAsync()).Running, t => t.Agent == name);
        var watched = await turn.CallAsync(GovernanceVerbs.WatchTurn, new WatchTurnArgs(id, 0));
        Assert.Equal("ended", watched.State);
    }

    [Fact]
    public async Task With_two_slots_a_third_waits_in_line_and_is_granted_when_one_ends()
    {
        var names = await _hive.NewAgentsAsync("a", "b", "c");
        await using var a = await _hive.ConnectAsync(names[0]);
        await using var b = await _hive.ConnectAsync(names[1]);
        await using var c = await _hive.ConnectAsync(names[2]);
        var first = await GovernanceHive.GrantedAsync(a);
        await GovernanceHive.GrantedAsync(b);

        var held = await GovernanceHive.BeginTurnAsync(c, waitMs: 100);
        Assert.Equal("queued", held.Held!.Reason);

        // Parked again (its place kept), it is granted the moment the first turn ends.
        var waiting = GovernanceHive.BeginTurnAsync(c, waitMs: 10_000);
        await using (var recorder = await _hive.ConnectAsync(names[0])) AgentClient.Ok(await recorder.CallAsync(GovernanceHive.Record(first)));
        Assert.NotNull((await waiting).TurnId);
    }

    [Fact]
    public async Task A_turn_ends_when_the_connection_that_began_it_closes()
    {
        var name = await _hive.NewAgentAsync("dropper");
        await using var events = await _hive.OpenEventsAsync();
        long id;
        await using (var turn = await _hive.ConnectAsync(name)) id = await GovernanceHive.GrantedAsync(turn);

        var ended = await events.WaitForPayloadAsync<TurnEndedPayload>("turn_ended", e => e.TurnId == id);
        Assert.Equal("disconnected", ended.Reason);
        await using var again = await _hive.ConnectAsync(name);
        var next = await GovernanceHive.GrantedAsync(again);
        Assert.NotEqual(id, next);
    }

    [Fact]
    public async Task An_operator_wake_is_granted_before_older_agent_wakes()
    {
        var names = await _hive.NewAgentsAsync("busy1", "busy2", "peerwoken", "opwoken");
        await using var busy1 = await _hive.ConnectAsync(names[0]);
        await using var busy2 = await _hive.ConnectAsync(names[1]);
        await using var peer = await _hive.ConnectAsync(names[2]);
        await using var op = await _hive.ConnectAsync(names[3]);
        var t1 = await GovernanceHive.GrantedAsync(busy1);
        await GovernanceHive.GrantedAsync(busy2);

        // The peer-woken agent asks first; the operator-woken one holds a message from the operator.
        await busy1.SendAsync(names[2], "from a peer");
        Assert.NotNull(await peer.RecvAsync(1000));
        var peerWaits = GovernanceHive.BeginTurnAsync(peer, waitMs: 10_000);
        await HiveInstance.Until(() => Queue().Contains(names[2]), what: "the peer-woken agent in line");
        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = names[3], body = "from the operator" }))
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        Assert.NotNull(await op.RecvAsync(1000));
        var opWaits = GovernanceHive.BeginTurnAsync(op, waitMs: 10_000);
        await HiveInstance.Until(() => Queue().Contains(names[3]), what: "the operator-woken agent in line");
        Assert.Equal([names[3], names[2]], Queue());

        await using (var recorder = await _hive.ConnectAsync(names[0])) AgentClient.Ok(await recorder.CallAsync(GovernanceHive.Record(t1)));
        Assert.NotNull((await opWaits).TurnId);
        Assert.False(peerWaits.IsCompleted && (await peerWaits).TurnId is not null);
        await busy2.DisposeAsync(); // its slot back: the peer-woken agent's turn comes
        Assert.NotNull((await peerWaits).TurnId);

        List<string> Queue() => fixture.ViewAsync().GetAwaiter().GetResult().Queue.Select(w => w.Agent).Where(names.Contains).ToList();
    }

    [Fact]
    public async Task Bad_turn_ids_and_waits_are_refused_and_change_nothing()
    {
        var names = await _hive.NewAgentsAsync("owner", "other");
        await using var owner = await _hive.ConnectAsync(names[0]);
        await using var other = await _hive.ConnectAsync(names[1]);
        var id = await GovernanceHive.GrantedAsync(owner);
        var turnsBefore = _hive.QueryDb<long>("SELECT count(*) FROM turns");

        Assert.Equal("not_found", (await other.RefusalOfAsync(TurnStatsVerbs.RecordTurn, GovernanceHive.RecordArgs(id))).Code);
        Assert.Equal("not_found", (await other.RefusalOfAsync(TurnStatsVerbs.RecordTurn, GovernanceHive.RecordArgs(999_999))).Code);
        Assert.Equal("not_found", (await other.RefusalOfAsync(GovernanceVerbs.WatchTurn, new WatchTurnArgs(id, 0))).Code);
        Assert.Equal("validation", (await other.RefusalOfAsync(GovernanceVerbs.BeginTurn, new BeginTurnArgs(-1))).Code);
        Assert.Equal("validation", (await other.RefusalOfAsync(GovernanceVerbs.BeginTurn, new BeginTurnArgs(30_001))).Code);
        Assert.Equal("conflict", (await owner.RefusalOfAsync(GovernanceVerbs.BeginTurn, new BeginTurnArgs(0))).Code);
        Assert.Equal(turnsBefore, _hive.QueryDb<long>("SELECT count(*) FROM turns"));
        Assert.Contains((await fixture.ViewAsync()).Running, t => t.TurnId == id);

        AgentClient.Ok(await owner.CallAsync(GovernanceHive.Record(id)));
        Assert.Equal("conflict", (await owner.RefusalOfAsync(TurnStatsVerbs.RecordTurn, GovernanceHive.RecordArgs(id))).Code);
        Assert.Equal(turnsBefore + 1, _hive.QueryDb<long>("SELECT count(*) FROM turns"));
    }

    [Fact]
    public async Task A_hang_up_while_a_turn_is_watched_frees_its_slot_at_once()
    {
        var name = await _hive.NewAgentAsync("hangup");
        await using var events = await _hive.OpenEventsAsync();
        var turn = await _hive.ConnectAsync(name);
        var id = await GovernanceHive.GrantedAsync(turn);
        var watching = turn.CallAsync(new { op = "watch_turn", turn_id = id, wait_ms = 30_000 });
        await HiveInstance.Until(() => _hive.Service<Hive.Shared.Socket.AgentSocketServer>().OpenConnectionsOf(name) == 1, what: "the watch parked");
        await turn.DisposeAsync();

        var ended = await events.WaitForPayloadAsync<TurnEndedPayload>("turn_ended", e => e.TurnId == id, TimeSpan.FromSeconds(10));
        Assert.Equal("disconnected", ended.Reason);
        _ = watching.ContinueWith(_ => { }, TaskScheduler.Default);

        // Over with its connection: nothing can record it now.
        await using var back = await _hive.ConnectAsync(name);
        Assert.Equal("conflict", (await back.RefusalOfAsync(TurnStatsVerbs.RecordTurn, GovernanceHive.RecordArgs(id, cost: 0.25))).Code);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM turns WHERE granted_turn_id = @id", new { id }));
    }

    [Fact]
    public async Task A_turn_the_host_stopped_and_ended_at_its_grace_is_still_recorded_once_and_its_spend_counted()
    {
        var name = await _hive.NewAgentAsync("late");
        await using var events = await _hive.OpenEventsAsync();
        await using var turn = await _hive.ConnectAsync(name);
        var id = await GovernanceHive.GrantedAsync(turn);
        using (var pause = await _hive.Http.PostAsync($"/api/governance/agents/{name}/pause", null)) pause.EnsureSuccessStatusCode();
        var ended = await events.WaitForPayloadAsync<TurnEndedPayload>("turn_ended", e => e.TurnId == id, TimeSpan.FromSeconds(30));
        Assert.Equal("paused", ended.Reason);

        // The harness's record arrives after the host ended the turn: taken, once; the turn stays ended as it was.
        AgentClient.Ok(await turn.CallAsync(GovernanceHive.Record(id, cost: 0.25)));
        Assert.Equal("conflict", (await turn.RefusalOfAsync(TurnStatsVerbs.RecordTurn, GovernanceHive.RecordArgs(id, cost: 0.25))).Code);
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM turns WHERE granted_turn_id = @id", new { id }));
        Assert.Equal(0.25, _hive.QueryDb<double>("SELECT sum(cost_usd) FROM spend WHERE agent = @name", new { name }), 6);
        Assert.Equal("paused", _hive.QueryDb<string>("SELECT end_reason FROM governed_turns WHERE id = @id", new { id }));
        using (var resume = await _hive.Http.PostAsync($"/api/governance/agents/{name}/resume", null)) resume.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task A_hang_up_while_waiting_in_line_leaves_the_line()
    {
        var names = await _hive.NewAgentsAsync("full1", "full2", "leaver");
        await using var a = await _hive.ConnectAsync(names[0]);
        await using var b = await _hive.ConnectAsync(names[1]);
        await GovernanceHive.GrantedAsync(a);
        await GovernanceHive.GrantedAsync(b);
        var leaver = await _hive.ConnectAsync(names[2]);
        var parked = leaver.CallAsync(new { op = "begin_turn", wait_ms = 30_000 });
        await HiveInstance.Until(() => Queue().Contains(names[2]), what: "the leaver in line");
        await leaver.DisposeAsync();

        await HiveInstance.Until(() => !Queue().Contains(names[2]), TimeSpan.FromSeconds(10), "the leaver out of line");
        await using var back = await _hive.ConnectAsync(names[2]);
        Assert.Equal("queued", (await GovernanceHive.BeginTurnAsync(back, 100)).Held!.Reason);
        _ = parked.ContinueWith(_ => { }, TaskScheduler.Default);

        List<string> Queue() => fixture.ViewAsync().GetAwaiter().GetResult().Queue.Select(w => w.Agent).ToList();
    }
}
