using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>The manager asks, the operator decides, and the decision is applied with it.</summary>
public sealed class ApprovalsTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_spawn_the_manager_requests_runs_once_the_operator_approves_and_the_manager_is_told()
    {
        const string name = "requested";
        await using var events = await _hive.OpenEventsAsync();
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var id = (await manager.CallAsync(ManagerVerbs.RequestSpawn,
                new SpawnArgs(name, "answers questions", SampleAgent.Command, "process", null, null, null, null))).ApprovalId;
            var added = (await events.WaitForPayloadAsync<ApprovalPayload>("approval_added", e => e.Approval.Id == id)).Approval;
            Assert.Equal("spawn", added.Kind);
            Assert.Equal("manager", added.Requester);
            // A spawn's payload is written as it is asked for: no record names its fields.
            Assert.Equal("answers questions", added.Payload.GetProperty("purpose").GetString());
            Assert.Contains(await StateApprovalsAsync(), a => a.Id == id);
            Assert.Null(await RowAsync(_hive, name));

            using var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", null);
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            var decided = JsonSerializer.Deserialize<ApprovalView>(await approved.Content.ReadAsStringAsync(), HiveJson.Options)!;
            Assert.Equal("approved", decided.Status);
            Assert.Equal("operator", decided.DecidedBy);

            await events.WaitForPayloadAsync<ApprovalPayload>("approval_resolved", e => e.Approval.Id == id);
            var running = await NextRowAsync(events, name, r => r.State() == "running");
            Assert.Equal("answers questions", running.GetProperty("purpose").GetString());
            var told = await MessageFromHiveAsync(manager, "approval_resolved", name);
            Assert.Equal(id, told.ExtraLong("approval_id"));
            Assert.Equal("approved", told.ExtraString("status"));
            Assert.DoesNotContain(await StateApprovalsAsync(), a => a.Id == id);

            using var again = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", null);
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_denied_spawn_spawns_nothing_and_the_manager_gets_the_reason()
    {
        const string name = "unwanted";
        await using var manager = await _hive.ConnectAsync("manager");
        var id = await SpawnTrueAsync(manager, name);

        using var denied = await _hive.Http.PostAsJsonAsync($"/api/approvals/{id}/deny", new { reason = "not now" });
        Assert.Equal(HttpStatusCode.OK, denied.StatusCode);

        var told = await MessageFromHiveAsync(manager, "approval_resolved", name);
        Assert.Equal("denied", told.ExtraString("status"));
        Assert.Equal("not now", told.ExtraString("reason"));
        Assert.Contains("not now", told.Body);
        Assert.Null(await RowAsync(_hive, name));
        Assert.Equal("denied", (await ApprovalsAsync(_hive, all: true)).Single(a => a.Id == id).Status);
    }

    [Fact]
    public async Task A_decision_with_an_empty_json_body_is_taken_like_one_with_no_body()
    {
        // What a script's fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}}) sends.
        await using var manager = await _hive.ConnectAsync("manager");
        var id = await SpawnTrueAsync(manager, "unasked");

        using var denied = await _hive.Http.PostAsync($"/api/approvals/{id}/deny", new StringContent("", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(denied.StatusCode == HttpStatusCode.OK, await denied.Content.ReadAsStringAsync());
        Assert.Equal("denied", JsonSerializer.Deserialize<ApprovalView>(await denied.Content.ReadAsStringAsync(), HiveJson.Options)!.Status);
        await RecvFromHiveAsync(manager, "approval_resolved", "unasked");
    }

    [Fact]
    public async Task An_unanswered_request_is_denied_as_timed_out_and_the_manager_is_told()
    {
        // A hive of its own: requests time out after 0.6 s.
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Approvals:TimeoutMinutes", "0.01");
        await using var manager = await hive.ConnectAsync("manager");
        var id = await SpawnTrueAsync(manager, "forgotten");

        var told = await MessageFromHiveAsync(manager, "approval_resolved", "forgotten");
        Assert.Equal(id, told.ExtraLong("approval_id"));
        Assert.Equal("timed out", told.ExtraString("reason"));
        var approval = (await ApprovalsAsync(hive, all: true)).Single(a => a.Id == id);
        Assert.Equal("denied", approval.Status);
        Assert.Equal("hive", approval.DecidedBy);
        Assert.Null(await RowAsync(hive, "forgotten"));
    }

    [Fact]
    public async Task A_manager_past_its_quota_of_pending_requests_is_refused_with_too_many()
    {
        // A hive of its own: three pending requests at most.
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Approvals:MaxPendingPerRequester", "3");
        await using var manager = await hive.ConnectAsync("manager");
        for (var i = 0; i < 3; i++) await SpawnTrueAsync(manager, $"wish-{i}");

        var refused = await manager.RefusalOfAsync(ManagerVerbs.RequestSpawn, TrueSpawn("wish-3"));

        Assert.Equal("too_many", refused.Code);
        Assert.Equal(3, (await ApprovalsAsync(hive, all: true)).Count);
        // A decision frees a place.
        var first = (await ApprovalsAsync(hive)).Last().Id;
        using (await hive.Http.PostAsync($"/api/approvals/{first}/deny", null)) { }
        await SpawnTrueAsync(manager, "wish-3");
    }

    [Theory]
    [InlineData("request_spawn")]
    [InlineData("request_destroy")]
    [InlineData("start")]
    [InlineData("stop")]
    [InlineData("restart")]
    [InlineData("rebuild")]
    [InlineData("list_agents")]
    public async Task A_manager_verb_on_another_agents_socket_is_forbidden_and_records_nothing(string op)
    {
        var agent = await _hive.NewAgentAsync("pretender");
        var before = (await ApprovalsAsync(_hive, all: true)).Count;
        await using var client = await _hive.ConnectAsync(agent);

        // The same line for every verb: only its op differs, so it is written by hand rather than through a verb's args.
        var reply = await client.CallAsync(new { op, name = "victim", purpose = "x", reason = "x", command = new[] { "/bin/true" } });

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal("forbidden", reply.Deserialize<Refusal>(HiveJson.Options)!.Code);
        Assert.Equal(before, (await ApprovalsAsync(_hive, all: true)).Count);
        Assert.Null(await RowAsync(_hive, "victim"));
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("restart")]
    [InlineData("request_destroy")]
    [InlineData("request_spawn")]
    public async Task The_manager_cannot_aim_a_verb_at_itself(string op)
    {
        await using var manager = await _hive.ConnectAsync("manager");
        var reply = await manager.CallAsync(new { op, name = "manager", purpose = "x", reason = "x", command = new[] { "/bin/true" } });
        Assert.Equal("forbidden", reply.Deserialize<Refusal>(HiveJson.Options)!.Code);
    }

    [Fact]
    public async Task The_manager_stops_starts_and_rebuilds_an_agent_without_approval_and_lists_agents()
    {
        const string name = "managed";
        await using var events = await _hive.OpenEventsAsync();
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            // The replies carry the agent's row, which has no record (it is assembled at run time): read raw.
            var stopped = (await manager.CallAsync(ManagerVerbs.Stop, new TargetArgs(name))).Agent;
            Assert.Equal("stopped", ((JsonElement)stopped).State());
            var started = (await manager.CallAsync(ManagerVerbs.Start, new TargetArgs(name))).Agent;
            Assert.Equal("running", ((JsonElement)started).State());
            var rebuilding = manager.CallAsync(ManagerVerbs.Rebuild, new TargetArgs(name));
            await NextRowAsync(events, name, r => r.Transient() == "rebuilding");
            Assert.Equal("running", ((JsonElement)(await rebuilding).Agent).State());

            var list = await manager.CallAsync(ManagerVerbs.ListAgents, new ListAgentsArgs());
            Assert.Contains(list.Agents.Cast<JsonElement>(), a => a.GetProperty("name").GetString() == name);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_destroy_the_manager_requests_leaves_a_tombstone_once_approved()
    {
        const string name = "retiring";
        await using var events = await _hive.OpenEventsAsync();
        await using var manager = await _hive.ConnectAsync("manager");
        await CreateAsync(_hive.Http, Shell(name, "process", "true"));
        var id = (await manager.CallAsync(ManagerVerbs.RequestDestroy, new DestroyArgs(name, "done its job"))).ApprovalId;

        using (var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", new StringContent(""))) Assert.Equal(HttpStatusCode.OK, approved.StatusCode);

        await events.WaitForPayloadAsync<AgentRemovedPayload>("container_removed", e => e.Name == name);
        Assert.Contains(await _hive.GetAsync<List<TombstoneView>>("/api/tombstones"), t => t.Name == name);
        Assert.Equal("approved", (await MessageFromHiveAsync(manager, "approval_resolved", name)).ExtraString("status"));
        using (await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) { }
    }

    [Fact]
    public async Task Bad_requests_are_refused_and_record_nothing()
    {
        await using var manager = await _hive.ConnectAsync("manager");
        var before = (await ApprovalsAsync(_hive, all: true)).Count;
        foreach (var bad in new SpawnArgs[]
                 {
                     new("Bad Name", "x", ["/bin/true"], null, null, null, null, null),
                     new("no-purpose", null, ["/bin/true"], null, null, null, null, null),
                     new("no-program", "x", ["/no/such/program"], null, null, null, null, null),
                     new("no-command", "x", null, null, null, null, null, null),
                 })
            await manager.RefusalOfAsync(ManagerVerbs.RequestSpawn, bad);
        foreach (var bad in new DestroyArgs[] { new("nobody-here", "x"), new("nobody-here", null) })
            await manager.RefusalOfAsync(ManagerVerbs.RequestDestroy, bad);
        Assert.Equal(before, (await ApprovalsAsync(_hive, all: true)).Count);
        using (var unknown = await _hive.Http.PostAsync("/api/approvals/999999/approve", null)) Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using (var malformed = await _hive.Http.PostAsync("/api/approvals/abc/deny", null)) Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        using (var status = await _hive.Http.GetAsync("/api/approvals?status=maybe")) Assert.Equal(HttpStatusCode.BadRequest, status.StatusCode);
    }

    private static SpawnArgs TrueSpawn(string name) => new(name, "x", ["/bin/true"], "process", null, null, null, null);

    private static async Task<long> SpawnTrueAsync(AgentClient manager, string name) =>
        (await manager.CallAsync(ManagerVerbs.RequestSpawn, TrueSpawn(name))).ApprovalId;

    private async Task<List<ApprovalView>> StateApprovalsAsync() =>
        (await _hive.GetJsonAsync("/api/state")).GetProperty("approvals").Deserialize<List<ApprovalView>>(HiveJson.Options)!;
}
