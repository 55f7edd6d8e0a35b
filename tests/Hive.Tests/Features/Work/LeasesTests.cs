using Hive.Contracts.Json;
using Hive.Contracts.Protocol;
using Hive.Contracts.Work;
using Hive.Features.Work.Leases;
using Hive.Shared.Errors;
using Hive.Tests.Cli;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// A hive for the lease tests: a one-second sweep ceiling and three leases per agent at most, so the quota is quick to
/// reach. Its agents are external unless a test runs a process of its own (and destroys it).
/// </summary>
public sealed class LeasesHive : HiveFixture
{
    public const int MaxPerAgent = 3;

    protected override string[] Args =>
    [
        "--Hive:Work:SweepSeconds", "1", "--Hive:Work:Leases:MaxPerAgent", MaxPerAgent.ToString(),
        "--Hive:Containers:StopGraceSeconds", "2",
    ];
}

/// <summary>
/// Advisory leases driven as agents drive them, over their sockets (and hivectl), and as the operator
/// over HTTP: grants, conflicts that name the holder and the expiry, shared and exclusive, renewals, releases, expiry at
/// the TTL, and release when the holder's process is killed.
/// </summary>
public sealed class LeasesTests(LeasesHive fixture) : SharedHiveTests(fixture), IClassFixture<LeasesHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private static string NewResource(string name = "src/lib.rs") => $"{name}#{Guid.NewGuid():N}";

    private static Task<LeaseAcquireReply> AcquireAsync(AgentClient agent, string resource, int? ttl = 60, bool exclusive = true, string? reason = null) =>
        agent.CallAsync(WorkVerbs.LeaseAcquire, new LeaseAcquireArgs(resource, ttl, exclusive, reason));

    private static Task<Refusal> AcquireRefusedAsync(AgentClient agent, string resource, string? reason = null) =>
        agent.RefusalOfAsync(WorkVerbs.LeaseAcquire, new LeaseAcquireArgs(resource, 60, true, reason));

    private static Task<LeaseRenewReply> RenewAsync(AgentClient agent, string resource, int? ttl) =>
        agent.CallAsync(WorkVerbs.LeaseRenew, new LeaseRenewArgs(resource, ttl));

    private static Task<LeaseReleaseReply> ReleaseAsync(AgentClient agent, string resource) =>
        agent.CallAsync(WorkVerbs.LeaseRelease, new LeaseReleaseArgs(resource));

    private static Task<Refusal> ReleaseRefusedAsync(AgentClient agent, string resource) =>
        agent.RefusalOfAsync(WorkVerbs.LeaseRelease, new LeaseReleaseArgs(resource));

    private List<(string Holder, bool Exclusive)> Rows(string resource) =>
        _hive.QueryDbList<(string, long)>("SELECT holder, exclusive FROM leases WHERE resource = @resource ORDER BY holder", new { resource })
            .Select(r => (r.Item1, r.Item2 != 0)).ToList();

    [Fact]
    public async Task Acquire_grants_a_free_resource_and_shows_it_in_the_list_the_api_and_the_snapshot()
    {
        var name = await _hive.NewAgentAsync("lessee");
        await using var agent = await _hive.ConnectAsync(name);
        var resource = NewResource();
        var before = DateTimeOffset.UtcNow;

        var reply = await AcquireAsync(agent, resource, ttl: 120, reason: "refactoring");

        Assert.True(reply.Granted);
        Assert.Equal(resource, reply.Resource);
        Assert.True(reply.Exclusive);
        var expires = reply.ExpiresAt!.Value;
        Assert.InRange(expires, before.AddSeconds(119), DateTimeOffset.UtcNow.AddSeconds(121));
        Assert.Equal([(name, true)], Rows(resource));

        var listed = (await agent.CallAsync(WorkVerbs.LeaseList, new NoArgs())).Leases.Single(l => l.Resource == resource);
        Assert.Equal(name, listed.Holder);
        Assert.Equal("refactoring", listed.Reason);
        var api = (await _hive.GetAsync<List<LeaseView>>("/api/leases")).Single(l => l.Resource == resource);
        Assert.Equal(expires, api.ExpiresAt);
        var state = await _hive.GetJsonAsync("/api/state");
        Assert.Contains(state.GetProperty("leases").Deserialize<List<LeaseView>>(HiveJson.Options)!, l => l.Resource == resource);
    }

    [Fact]
    public async Task A_conflicting_acquire_is_not_granted_and_names_the_holder_and_its_expiry()
    {
        var (alice, bob) = (await _hive.NewAgentAsync("alice"), await _hive.NewAgentAsync("bob"));
        await using var a = await _hive.ConnectAsync(alice);
        await using var b = await _hive.ConnectAsync(bob);
        var resource = NewResource();
        var held = await AcquireAsync(a, resource, ttl: 300, reason: "migrating the schema");

        var refused = await AcquireAsync(b, resource);

        Assert.False(refused.Granted);
        var conflict = refused.Conflict!;
        Assert.Equal(alice, conflict.Holder);
        Assert.Equal(held.ExpiresAt!.Value, conflict.ExpiresAt);
        Assert.True(conflict.Exclusive);
        Assert.Equal("migrating the schema", conflict.Reason);
        Assert.Equal([(alice, true)], Rows(resource)); // nothing changed

        // A shared acquire conflicts with an exclusive holder too.
        Assert.False((await AcquireAsync(b, resource, exclusive: false)).Granted);
    }

    [Fact]
    public async Task Shared_leases_coexist_and_an_exclusive_acquire_conflicts_with_them()
    {
        var (alice, bob, carol) = (await _hive.NewAgentAsync("alice"), await _hive.NewAgentAsync("bob"), await _hive.NewAgentAsync("carol"));
        await using var a = await _hive.ConnectAsync(alice);
        await using var b = await _hive.ConnectAsync(bob);
        await using var c = await _hive.ConnectAsync(carol);
        var resource = NewResource("docs/");

        Assert.True((await AcquireAsync(a, resource, exclusive: false)).Granted);
        Assert.True((await AcquireAsync(b, resource, exclusive: false, ttl: 90)).Granted);
        Assert.Equal([(alice, false), (bob, false)], Rows(resource).OrderBy(r => r.Holder == bob).ToList());

        var refused = await AcquireAsync(c, resource, exclusive: true);
        Assert.False(refused.Granted);
        // The holder named is the one whose lease lasts longest (bob's 90 s): the resource is not free before then.
        Assert.Equal(bob, refused.Conflict!.Holder);
        Assert.False(refused.Conflict.Exclusive);

        // Nor may a shared holder turn its lease exclusive while another shares it.
        Assert.False((await AcquireAsync(a, resource, exclusive: true)).Granted);
        Assert.Equal(2, Rows(resource).Count);
    }

    [Fact]
    public async Task Renew_extends_ones_own_lease_and_reacquiring_it_is_a_renewal()
    {
        var (alice, bob) = (await _hive.NewAgentAsync("alice"), await _hive.NewAgentAsync("bob"));
        await using var a = await _hive.ConnectAsync(alice);
        await using var b = await _hive.ConnectAsync(bob);
        var resource = NewResource();
        var first = (await AcquireAsync(a, resource, ttl: 10)).ExpiresAt!.Value;

        var renewed = await RenewAsync(a, resource, 600);
        Assert.True(renewed.ExpiresAt > first.AddSeconds(500));

        var again = await AcquireAsync(a, resource, ttl: 900);
        Assert.True(again.Granted);
        Assert.True(again.ExpiresAt!.Value > renewed.ExpiresAt);
        Assert.Equal([(alice, true)], Rows(resource));

        var notHers = await b.RefusalOfAsync(WorkVerbs.LeaseRenew, new LeaseRenewArgs(resource, 60));
        Assert.Equal("not_found", notHers.Code);
    }

    [Fact]
    public async Task Release_frees_the_resource_for_another_agent_and_a_second_release_is_not_found()
    {
        var (alice, bob) = (await _hive.NewAgentAsync("alice"), await _hive.NewAgentAsync("bob"));
        await using var a = await _hive.ConnectAsync(alice);
        await using var b = await _hive.ConnectAsync(bob);
        var resource = NewResource();
        await AcquireAsync(a, resource);

        var notHers = await ReleaseRefusedAsync(b, resource);
        Assert.Equal("not_found", notHers.Code);
        Assert.Equal([(alice, true)], Rows(resource));

        await ReleaseAsync(a, resource);
        Assert.Empty(Rows(resource));
        Assert.True((await AcquireAsync(b, resource)).Granted);
        Assert.Equal("not_found", (await ReleaseRefusedAsync(a, resource)).Code);
    }

    [Fact]
    public async Task A_lease_expires_at_its_ttl_with_a_leases_changed_event_and_is_free_again()
    {
        var (alice, bob) = (await _hive.NewAgentAsync("alice"), await _hive.NewAgentAsync("bob"));
        await using var a = await _hive.ConnectAsync(alice);
        await using var b = await _hive.ConnectAsync(bob);
        await using var events = await _hive.OpenEventsAsync();
        var resource = NewResource();

        await AcquireAsync(a, resource, ttl: 1);
        await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed", e => e.Why == "granted" && Holds(e, resource, alice));

        // The sweep wakes at the lease's expiry (no sleep here: the event is the signal).
        var expired = await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed",
            e => e.Why == "expired" && Ended(e, resource, alice), TimeSpan.FromSeconds(10));
        Assert.Empty(Rows(resource));
        Assert.True((await AcquireAsync(b, resource)).Granted);
        Assert.DoesNotContain(expired.Leases, l => l.Resource == resource);
    }

    [Fact]
    public async Task An_expired_lease_counts_as_absent_at_acquire_and_cannot_be_renewed()
    {
        var (alice, bob) = (await _hive.NewAgentAsync("alice"), await _hive.NewAgentAsync("bob"));
        await using var a = await _hive.ConnectAsync(alice);
        await using var b = await _hive.ConnectAsync(bob);
        var resource = NewResource();
        // Planted already expired (as a lease the sweep has not reached yet would be), straight in the table.
        _hive.ExecuteDb($"""
            INSERT INTO leases (resource, holder, exclusive, reason, acquired_at, expires_at)
            VALUES ('{resource}', '{alice}', 1, NULL, '2020-01-01T00:00:00.000Z', '2020-01-01T00:05:00.000Z')
            """);

        Assert.Equal("not_found", (await a.RefusalOfAsync(WorkVerbs.LeaseRenew, new LeaseRenewArgs(resource, null))).Code);
        Assert.True((await AcquireAsync(b, resource)).Granted);
        Assert.Equal([(bob, true)], Rows(resource));
    }

    /// <summary>Each rule's refusal, in process: the use case as the verb sends it, for an agent of the test.</summary>
    private static readonly Dictionary<string, Func<HiveInstance, string, Task<HiveError>>> Rules = new()
    {
        ["acquire with no resource"] = (hive, agent) => hive.RefusalOfAsync(new AcquireLease.Command(agent, null, null, true, null)),
        ["acquire of an empty resource"] = (hive, agent) => hive.RefusalOfAsync(new AcquireLease.Command(agent, "", null, true, null)),
        ["acquire of a blank resource"] = (hive, agent) => hive.RefusalOfAsync(new AcquireLease.Command(agent, "   ", null, true, null)),
        ["acquire of a resource with a control character"] = (hive, agent) => hive.RefusalOfAsync(new AcquireLease.Command(agent, "a\u0007b", null, true, null)),
        ["acquire for no time"] = (hive, agent) => hive.RefusalOfAsync(new AcquireLease.Command(agent, "ok", 0, true, null)),
        ["acquire for over a day"] = (hive, agent) => hive.RefusalOfAsync(new AcquireLease.Command(agent, "ok", 86401, true, null)),
        ["renew for negative time"] = (hive, agent) => hive.RefusalOfAsync(new RenewLease.Command(agent, "ok", -5)),
        ["release of an empty resource"] = (hive, agent) => hive.RefusalOfAsync(new ReleaseLease.Command("", agent)),
    };

    public static TheoryData<string> RuleCases => new(Rules.Keys);

    [Theory]
    [MemberData(nameof(RuleCases))]
    public async Task What_the_rules_refuse_gets_validation_and_changes_nothing(string rule)
    {
        var name = await _hive.NewAgentAsync("sloppy");

        var refusal = await Rules[rule](_hive, name);

        Assert.Equal("validation", refusal.Code);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM leases WHERE holder = @name", new { name }));
    }

    /// <summary>What only the wire refuses (JSON that does not bind), and one rule's refusal as the socket words it.</summary>
    [Theory]
    [InlineData("""{"op":"lease_acquire","resource":""}""", "validation")]
    [InlineData("""{"op":"lease_acquire","resource":"ok","ttl_seconds":"soon"}""", "bad_request")]
    [InlineData("""{"op":"lease_acquire","resource":"ok","exclusive":"yes"}""", "bad_request")]
    [InlineData("""{"op":"lease_acquire","resource":7}""", "bad_request")]
    public async Task A_lease_line_the_socket_refuses_gets_its_code_and_changes_nothing(string line, string code)
    {
        var name = await _hive.NewAgentAsync("sloppy");
        await using var agent = await _hive.ConnectAsync(name);

        var reply = await agent.CallRawAsync(line);

        Assert.False(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM leases WHERE holder = @name", new { name }));
    }

    [Fact]
    public async Task Overlong_resource_and_reason_are_refused()
    {
        var name = await _hive.NewAgentAsync("verbose");
        await using var agent = await _hive.ConnectAsync(name);

        Assert.Equal("validation", (await AcquireRefusedAsync(agent, new string('r', 257))).Code);
        Assert.Equal("validation", (await AcquireRefusedAsync(agent, NewResource(), reason: new string('w', 501))).Code);
        Assert.True((await AcquireAsync(agent, new string('r', 256), reason: new string('w', 500))).Granted);
    }

    [Fact]
    public async Task An_agent_holds_at_most_the_configured_number_of_leases()
    {
        var name = await _hive.NewAgentAsync("greedy");
        await using var agent = await _hive.ConnectAsync(name);
        var resources = Enumerable.Range(0, LeasesHive.MaxPerAgent).Select(i => NewResource($"r{i}")).ToList();
        foreach (var resource in resources) await AcquireAsync(agent, resource);

        var refused = await AcquireRefusedAsync(agent, NewResource("one-more"));
        Assert.Equal("too_many", refused.Code);
        // Renewing one it holds is no new lease.
        Assert.True((await AcquireAsync(agent, resources[0], ttl: 30)).Granted);
        Assert.Equal(LeasesHive.MaxPerAgent, _hive.QueryDb<long>("SELECT count(*) FROM leases WHERE holder = @name", new { name }));
    }

    [Fact]
    public async Task The_operator_breaks_a_lease_over_http()
    {
        var (alice, bob) = (await _hive.NewAgentAsync("alice"), await _hive.NewAgentAsync("bob"));
        await using var a = await _hive.ConnectAsync(alice);
        await using var b = await _hive.ConnectAsync(bob);
        await using var events = await _hive.OpenEventsAsync();
        var resource = NewResource("deploy lock");
        await AcquireAsync(a, resource);

        using var missing = await _hive.Http.DeleteAsync($"/api/leases?resource={Uri.EscapeDataString(resource)}&holder={bob}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var broken = await _hive.Http.DeleteAsync($"/api/leases?resource={Uri.EscapeDataString(resource)}&holder={alice}");
        Assert.Equal(HttpStatusCode.OK, broken.StatusCode);
        Assert.Equal(alice, (await broken.Content.ReadFromJsonAsync<ReleaseLease.Result>(HiveJson.Options))!.Released[0].Holder);

        await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed", e => e.Why == "broken" && Ended(e, resource, alice));
        Assert.True((await AcquireAsync(b, resource)).Granted);
        using var bad = await _hive.Http.DeleteAsync("/api/leases");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Every_grant_renew_and_release_sends_leases_changed_with_what_changed()
    {
        var name = await _hive.NewAgentAsync("watched");
        await using var agent = await _hive.ConnectAsync(name);
        await using var events = await _hive.OpenEventsAsync();
        var (one, two) = (NewResource("one"), NewResource("two"));

        await AcquireAsync(agent, one);
        await AcquireAsync(agent, two, exclusive: false);
        await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed", e => Holds(e, one, name));
        var granted = await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed", e => Holds(e, two, name));
        Assert.Single(granted.Leases); // only what changed, never the whole list
        Assert.True(granted.Live >= 2);
        var lease = granted.Leases[0];
        Assert.False(lease.Exclusive);
        Assert.NotEqual(default, lease.AcquiredAt); // there, and a timestamp (the record reads nothing else)

        await RenewAsync(agent, one, 99);
        await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed", e => e.Why == "renewed" && Holds(e, one, name));
        await ReleaseAsync(agent, one);
        await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed", e => e.Why == "released" && Ended(e, one, name));
    }

    [Fact]
    public async Task Hivectl_acquires_and_an_acquire_someone_blocks_exits_1_naming_the_holder()
    {
        var (alice, bob) = (await _hive.NewAgentAsync("alice"), await _hive.NewAgentAsync("bob"));
        var resource = NewResource("src/main.c");

        var got = (await Hivectl.RunAsync(["lease", "acquire", resource, "--ttl", "120", "--reason", "fixing", "--json", "--socket", _hive.SocketPath(alice)])).Ok();
        Assert.True(got.Json.Deserialize<LeaseAcquireReply>(HiveJson.Options)!.Granted);

        var refused = (await Hivectl.RunAsync(["lease", "acquire", resource, "--shared", "--json", "--socket", _hive.SocketPath(bob)])).Refused("conflict");
        Assert.Contains(alice, refused.Stderr);
        Assert.Contains(got.Json.GetProperty("expires_at").GetString()!, refused.Stderr);
        Assert.Equal(alice, refused.Json.Deserialize<LeaseAcquireReply>(HiveJson.Options)!.Conflict!.Holder);

        var list = (await Hivectl.RunAsync(["lease", "list", "--socket", _hive.SocketPath(bob)])).Ok();
        Assert.Contains(resource, list.Stdout);
        (await Hivectl.RunAsync(["lease", "renew", resource, "--ttl", "30", "--socket", _hive.SocketPath(alice)])).Ok();
        (await Hivectl.RunAsync(["lease", "release", resource, "--socket", _hive.SocketPath(alice)])).Ok();
        (await Hivectl.RunAsync(["lease", "release", resource, "--socket", _hive.SocketPath(alice)])).Refused("not_found");
        (await Hivectl.RunAsync(["lease", "acquire", resource, "--socket", _hive.SocketPath(bob)])).Ok();
    }

    [Fact]
    public async Task A_lease_held_by_an_agents_process_is_released_when_the_process_is_killed()
    {
        var name = $"leaser-{Guid.NewGuid().ToString("N")[..6]}";
        var other = await _hive.NewAgentAsync("waiter");
        await using var waiter = await _hive.ConnectAsync(other);
        await using var events = await _hive.OpenEventsAsync();
        var resource = NewResource("build lock");
        try
        {
            // The agent takes the lease with hivectl on its own socket ($HIVE_SOCKET), then waits.
            var script = $"dotnet '{Hivectl.ForAgents}' lease acquire '{resource}' --ttl 3600 --reason building || exit 7";
            var row = await CreateAsync(_hive.Http, Shell(name, "process", script, restart: "never"));
            await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed", e => Holds(e, resource, name), TimeSpan.FromSeconds(30));
            Assert.Equal(name, (await AcquireAsync(waiter, resource)).Conflict!.Holder);

            var pgid = row.Pid() ?? (await NextRowAsync(events, name, r => r.Pid() is not null)).Pid()!.Value;
            var processes = AgentProcesses(pgid);
            Assert.NotEmpty(processes);
            foreach (var pid in processes) ProcessTable.Kill(pid, 9);

            await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed",
                e => e.Why == "holder_exited" && Ended(e, resource, name), TimeSpan.FromSeconds(30));
            Assert.Empty(Rows(resource));
            Assert.Equal("crashed", (await RowAsync(_hive, name))!.Value.State());
            Assert.True((await AcquireAsync(waiter, resource)).Granted);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("restart")]
    public async Task The_operator_stopping_or_restarting_the_holder_releases_its_leases(string action)
    {
        var name = $"leaser-{action}-{Guid.NewGuid().ToString("N")[..6]}";
        var other = await _hive.NewAgentAsync("waiter");
        await using var waiter = await _hive.ConnectAsync(other);
        await using var events = await _hive.OpenEventsAsync();
        var resource = NewResource("release train");
        try
        {
            // Only the first life takes the lease (a marker in its state dir, its working directory), so after a restart
            // the resource stays with whoever takes it next.
            var script = $"[ -e took ] || {{ touch took; dotnet '{Hivectl.ForAgents}' lease acquire '{resource}' --ttl 3600 || exit 7; }}";
            await CreateAsync(_hive.Http, Shell(name, "process", script, restart: "never"));
            await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed", e => Holds(e, resource, name), TimeSpan.FromSeconds(30));

            var (status, problem) = await PostAsync(_hive.Http, $"/api/agents/{name}/{action}");
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.NoContent or HttpStatusCode.Accepted, $"{(int)status}: {problem}");

            await events.WaitForPayloadAsync<LeasesChangedPayload>("leases_changed",
                e => e.Why == "holder_exited" && Ended(e, resource, name), TimeSpan.FromSeconds(30));
            Assert.True((await AcquireAsync(waiter, resource)).Granted);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task An_external_agents_leases_outlive_its_connection()
    {
        var name = await _hive.NewAgentAsync("outside");
        var resource = NewResource();
        await using (var agent = await _hive.ConnectAsync(name))
            await AcquireAsync(agent, resource);

        // No process of the host's: nothing ends the lease but its TTL or a release.
        await using var again = await _hive.ConnectAsync(name);
        Assert.Contains((await again.CallAsync(WorkVerbs.LeaseList, new NoArgs())).Leases, l => l.Resource == resource && l.Holder == name);
    }

    /// <summary>The event granted or renewed this lease.</summary>
    private static bool Holds(LeasesChangedPayload leasesChanged, string resource, string holder) =>
        leasesChanged.Leases.Any(l => l.Resource == resource && l.Holder == holder);

    /// <summary>The event says this lease ended.</summary>
    private static bool Ended(LeasesChangedPayload leasesChanged, string resource, string holder) =>
        leasesChanged.Ended.Any(l => l.Resource == resource && l.Holder == holder);
}
