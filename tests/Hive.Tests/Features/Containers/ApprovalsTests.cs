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
            var reply = await manager.CallAsync(new { op = "request_spawn", name, purpose = "answers questions", command = SampleAgent.Command, driver = "process" });
            Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
            var id = reply.GetProperty("approval_id").GetInt64();
            var added = await NextEventAsync(events, "approval_added", e => e.GetProperty("approval").GetProperty("id").GetInt64() == id);
            Assert.Equal("spawn", added.GetProperty("approval").GetProperty("kind").GetString());
            Assert.Equal("manager", added.GetProperty("approval").GetProperty("requester").GetString());
            Assert.Equal("answers questions", added.GetProperty("approval").GetProperty("payload").GetProperty("purpose").GetString());
            Assert.Contains((await _hive.GetJsonAsync("/api/state")).GetProperty("approvals").EnumerateArray(), a => a.GetProperty("id").GetInt64() == id);
            Assert.Null(await RowAsync(_hive, name));

            using var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", null);
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            var decided = JsonDocument.Parse(await approved.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("approved", decided.GetProperty("status").GetString());
            Assert.Equal("operator", decided.GetProperty("decided_by").GetString());

            await NextEventAsync(events, "approval_resolved", e => e.GetProperty("approval").GetProperty("id").GetInt64() == id);
            var running = await NextRowAsync(events, name, r => r.State() == "running");
            Assert.Equal("answers questions", running.GetProperty("purpose").GetString());
            var told = await RecvFromHiveAsync(manager, "approval_resolved", name);
            Assert.Equal(id, told.GetProperty("approval_id").GetInt64());
            Assert.Equal("approved", told.GetProperty("status").GetString());
            Assert.DoesNotContain((await _hive.GetJsonAsync("/api/state")).GetProperty("approvals").EnumerateArray(), a => a.GetProperty("id").GetInt64() == id);

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
        var id = (await manager.CallAsync(new { op = "request_spawn", name, purpose = "x", command = new[] { "/bin/true" }, driver = "process" }))
            .GetProperty("approval_id").GetInt64();

        using var denied = await _hive.Http.PostAsJsonAsync($"/api/approvals/{id}/deny", new { reason = "not now" });
        Assert.Equal(HttpStatusCode.OK, denied.StatusCode);

        var told = await RecvFromHiveAsync(manager, "approval_resolved", name);
        Assert.Equal("denied", told.GetProperty("status").GetString());
        Assert.Equal("not now", told.GetProperty("reason").GetString());
        Assert.Contains("not now", told.GetProperty("body").GetString());
        Assert.Null(await RowAsync(_hive, name));
        var all = await _hive.GetJsonAsync("/api/approvals?status=all");
        Assert.Equal("denied", all.EnumerateArray().Single(a => a.GetProperty("id").GetInt64() == id).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_decision_with_an_empty_json_body_is_taken_like_one_with_no_body()
    {
        // What a script's fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}}) sends.
        await using var manager = await _hive.ConnectAsync("manager");
        var id = (await manager.CallAsync(new { op = "request_spawn", name = "unasked", purpose = "x", command = new[] { "/bin/true" }, driver = "process" }))
            .GetProperty("approval_id").GetInt64();

        using var denied = await _hive.Http.PostAsync($"/api/approvals/{id}/deny", new StringContent("", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(denied.StatusCode == HttpStatusCode.OK, await denied.Content.ReadAsStringAsync());
        Assert.Equal("denied", JsonDocument.Parse(await denied.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        await RecvFromHiveAsync(manager, "approval_resolved", "unasked");
    }

    [Fact]
    public async Task An_unanswered_request_is_denied_as_timed_out_and_the_manager_is_told()
    {
        // A hive of its own: requests time out after 0.6 s.
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Approvals:TimeoutMinutes", "0.01");
        await using var manager = await hive.ConnectAsync("manager");
        var id = (await manager.CallAsync(new { op = "request_spawn", name = "forgotten", purpose = "x", command = new[] { "/bin/true" }, driver = "process" }))
            .GetProperty("approval_id").GetInt64();

        var told = await RecvFromHiveAsync(manager, "approval_resolved", "forgotten");
        Assert.Equal(id, told.GetProperty("approval_id").GetInt64());
        Assert.Equal("timed out", told.GetProperty("reason").GetString());
        var approval = (await hive.GetJsonAsync("/api/approvals?status=all")).EnumerateArray().Single(a => a.GetProperty("id").GetInt64() == id);
        Assert.Equal("denied", approval.GetProperty("status").GetString());
        Assert.Equal("hive", approval.GetProperty("decided_by").GetString());
        Assert.Null(await RowAsync(hive, "forgotten"));
    }

    [Fact]
    public async Task A_manager_past_its_quota_of_pending_requests_is_refused_with_too_many()
    {
        // A hive of its own: three pending requests at most.
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Approvals:MaxPendingPerRequester", "3");
        await using var manager = await hive.ConnectAsync("manager");
        for (var i = 0; i < 3; i++)
            Assert.True((await manager.CallAsync(new { op = "request_spawn", name = $"wish-{i}", purpose = "x", command = new[] { "/bin/true" }, driver = "process" }))
                .GetProperty("ok").GetBoolean());

        var refused = await manager.CallAsync(new { op = "request_spawn", name = "wish-3", purpose = "x", command = new[] { "/bin/true" }, driver = "process" });

        Assert.Equal("too_many", refused.GetProperty("code").GetString());
        Assert.Equal(3, (await hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength());
        // A decision frees a place.
        var first = (await hive.GetJsonAsync("/api/approvals")).EnumerateArray().Last().GetProperty("id").GetInt64();
        using (await hive.Http.PostAsync($"/api/approvals/{first}/deny", null)) { }
        Assert.True((await manager.CallAsync(new { op = "request_spawn", name = "wish-3", purpose = "x", command = new[] { "/bin/true" }, driver = "process" }))
            .GetProperty("ok").GetBoolean());
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
        var before = (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength();
        await using var client = await _hive.ConnectAsync(agent);

        var reply = await client.CallAsync(new { op, name = "victim", purpose = "x", reason = "x", command = new[] { "/bin/true" } });

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal("forbidden", reply.GetProperty("code").GetString());
        Assert.Equal(before, (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength());
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
        Assert.Equal("forbidden", reply.GetProperty("code").GetString());
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
            var stopped = AgentClient.Ok(await manager.CallAsync(new { op = "stop", name }));
            Assert.Equal("stopped", stopped.GetProperty("agent").GetProperty("state").GetString());
            var started = AgentClient.Ok(await manager.CallAsync(new { op = "start", name }));
            Assert.Equal("running", started.GetProperty("agent").GetProperty("state").GetString());
            var rebuilding = manager.CallAsync(new { op = "rebuild", name });
            await NextRowAsync(events, name, r => r.Transient() == "rebuilding");
            Assert.Equal("running", (await rebuilding).GetProperty("agent").GetProperty("state").GetString());

            var list = await manager.CallAsync(new { op = "list_agents" });
            Assert.Contains(list.GetProperty("agents").EnumerateArray(), a => a.GetProperty("name").GetString() == name);
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
        var reply = await manager.CallAsync(new { op = "request_destroy", name, reason = "done its job" });
        var id = reply.GetProperty("approval_id").GetInt64();

        using (var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", new StringContent(""))) Assert.Equal(HttpStatusCode.OK, approved.StatusCode);

        await NextEventAsync(events, "container_removed", e => e.GetProperty("name").GetString() == name);
        Assert.Contains((await _hive.GetJsonAsync("/api/tombstones")).EnumerateArray(), t => t.GetProperty("name").GetString() == name);
        Assert.Equal("approved", (await RecvFromHiveAsync(manager, "approval_resolved", name)).GetProperty("status").GetString());
        using (await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) { }
    }

    [Fact]
    public async Task Bad_requests_are_refused_and_record_nothing()
    {
        await using var manager = await _hive.ConnectAsync("manager");
        var before = (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength();
        foreach (var bad in new object[]
                 {
                     new { op = "request_spawn", name = "Bad Name", purpose = "x", command = new[] { "/bin/true" } },
                     new { op = "request_spawn", name = "no-purpose", command = new[] { "/bin/true" } },
                     new { op = "request_spawn", name = "no-program", purpose = "x", command = new[] { "/no/such/program" } },
                     new { op = "request_spawn", name = "no-command", purpose = "x" },
                     new { op = "request_destroy", name = "nobody-here", reason = "x" },
                     new { op = "request_destroy", name = "nobody-here" },
                 })
        {
            var reply = await manager.CallAsync(bad);
            Assert.False(reply.GetProperty("ok").GetBoolean(), bad.ToString());
        }
        Assert.Equal(before, (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength());
        using (var unknown = await _hive.Http.PostAsync("/api/approvals/999999/approve", null)) Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using (var malformed = await _hive.Http.PostAsync("/api/approvals/abc/deny", null)) Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        using (var status = await _hive.Http.GetAsync("/api/approvals?status=maybe")) Assert.Equal(HttpStatusCode.BadRequest, status.StatusCode);
    }
}
