using Hive.Contracts.Agents;
using Hive.Contracts.Questions;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The hierarchy the host enforces: a parent with <c>may_spawn</c> spawns children at once within its limits, and a spawn
/// beyond them (one child too many, a grandchild from a child with no may_spawn of its own) becomes a spawn approval for
/// the operator, saying why; a child reaches only its subtree, its parent and the operator; parent links that make a
/// cycle or name no agent, and spawns of a taken name or out-of-range limits, are refused and create nothing.
/// </summary>
public sealed class HierarchyTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["zed"], "--Hive:Containers:Driver", "process");

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private static ChildSpawnArgs Child(string name, AgentSpawnLimits? maySpawn = null) =>
        new(name, $"{name} helps its parent", Command: ["sleep", "1000"], MaySpawn: maySpawn);

    private long Agents => _hive.QueryDb<long>("SELECT count(*) FROM agents");

    private long PendingSpawns(string requester) =>
        _hive.QueryDb<long>("SELECT count(*) FROM approvals WHERE kind = 'spawn' AND requester = @requester AND status = 'pending'", new { requester });

    [Fact]
    public async Task A_parent_spawns_within_its_limits_at_once_beyond_them_asks_and_its_child_reaches_only_its_subtree_its_parent_and_the_operator()
    {
        await CreateAsync(_hive.Http, new { name = "pia", driver = "external", may_spawn = new { depth = 1, children = 2 } });
        await using var pia = await _hive.ConnectAsync("pia");

        // Two at once (on two connections), both within its limits: both start, under pia, recorded as pia's interventions.
        await using var pia2 = await _hive.ConnectAsync("pia");
        var spawned = await Task.WhenAll(pia.CallAsync(HierarchyVerbs.Spawn, Child("kit")), pia2.CallAsync(HierarchyVerbs.Spawn, Child("kai")));
        Assert.All(spawned, s => Assert.Equal(HierarchyVerbs.Spawned, s.Outcome));
        foreach (var name in new[] { "kit", "kai" })
        {
            var row = (await RowAsync(_hive, name))!.Value;
            Assert.Equal(("running", "pia"), (row.State(), row.GetProperty("parent").GetString()));
        }
        Assert.Equal(2, _hive.QueryDb<long>("SELECT count(*) FROM interventions WHERE action = 'spawn' AND actor = 'pia'"));
        Assert.Equal(0, PendingSpawns("pia"));

        // A third is beyond children: 2, and becomes one approval for the operator, saying so; nothing runs.
        var third = await pia.CallAsync(HierarchyVerbs.Spawn, Child("kim"));
        Assert.Equal(HierarchyVerbs.Asked, third.Outcome);
        Assert.Contains("2 children already", third.Reason);
        Assert.Equal(1, PendingSpawns("pia"));
        Assert.Null(await RowAsync(_hive, "kim"));

        // A child's own spawn (a grandchild of pia, depth 2) is asked too: kit has no may_spawn of its own.
        await using var kit = await _hive.ConnectAsync("kit");
        var grandchild = await kit.CallAsync(HierarchyVerbs.Spawn, Child("kip"));
        Assert.Equal(HierarchyVerbs.Asked, grandchild.Outcome);
        Assert.Contains("kit may spawn nothing without asking", grandchild.Reason);
        Assert.Equal(1, PendingSpawns("kit"));

        // kit reaches its parent and the operator; not its sibling, nor an agent outside its subtree, and says why.
        var messages = _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'kit'");
        foreach (var to in new[] { "kai", "zed" })
        {
            var refused = await kit.CallAsync(new { op = "send", to, body = "psst" });
            Assert.Equal("forbidden", refused.GetProperty("code").GetString());
            Assert.Contains("kit was spawned under pia and reaches only its own subtree, pia and the operator", refused.GetProperty("error").GetString());
        }
        Assert.Equal(messages, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'kit'"));
        await kit.SendAsync("pia", "done, pia");
        await kit.SendAsync("operator", "done, operator");
        // Its parent reaches it, and so does the manager.
        await pia.SendAsync("kit", "well done");
        await using var manager = await _hive.ConnectAsync("manager");
        await manager.SendAsync("kit", "carry on");
    }

    [Fact]
    public async Task A_spawn_beyond_limits_that_say_ask_parent_is_asked_of_the_parents_parent_whose_answer_decides_it()
    {
        await CreateAsync(_hive.Http, new { name = "gus", driver = "external", may_spawn = new { depth = 2, children = 2 } });
        await using var gus = await _hive.ConnectAsync("gus");
        Assert.Equal(HierarchyVerbs.Spawned, (await gus.CallAsync(HierarchyVerbs.Spawn, Child("pol", new AgentSpawnLimits(1, 1, AgentSpawnLimits.AskParent)))).Outcome);
        await using var pol = await _hive.ConnectAsync("pol");
        Assert.Equal(HierarchyVerbs.Spawned, (await pol.CallAsync(HierarchyVerbs.Spawn, Child("pup"))).Outcome);

        // A second child is beyond pol's limits: asked of gus (not the operator), whose "approve" makes it, in its name.
        var asked = await pol.CallAsync(HierarchyVerbs.Spawn, Child("pip"));
        Assert.Equal(HierarchyVerbs.Asked, asked.Outcome);
        Assert.Contains("asked of gus, pol's parent", asked.Reason);
        long QuestionToGus() => _hive.QueryDb<long>("SELECT id FROM questions WHERE asker = 'hive' AND target = 'gus' AND answered_at IS NULL");
        await gus.CallAsync(QuestionVerbs.Answer, new AnswerArgs(QuestionToGus(), "approve"));
        await Constellation.TwoHives.UntilAsync(async () => (await RowAsync(_hive, "pip"))?.State() == "running", "pip to run", 60);
        Assert.Equal("pol", (await RowAsync(_hive, "pip"))!.Value.GetProperty("parent").GetString());
        Assert.Equal(("approved", "gus"), _hive.QueryDb<(string, string)>("SELECT status, decided_by FROM approvals WHERE id = @id", new { id = asked.ApprovalId }));

        // pol is at its limit again; gus answers anything but approve: denied, pol told, nothing made.
        var again = await pol.CallAsync(HierarchyVerbs.Spawn, Child("pet"));
        Assert.Equal(HierarchyVerbs.Asked, again.Outcome);
        await gus.CallAsync(QuestionVerbs.Answer, new AnswerArgs(QuestionToGus(), "deny"));
        await HiveInstance.Until(() => _hive.QueryDb<string>("SELECT status FROM approvals WHERE id = @id", new { id = again.ApprovalId }) == "denied",
            TimeSpan.FromSeconds(30), "the denial");
        Assert.Null(await RowAsync(_hive, "pet"));
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'pol' AND kind = 'approval_resolved' AND body LIKE '%denied%'"));
    }

    [Fact]
    public async Task Parent_links_that_make_a_cycle_or_name_no_agent_and_spawns_of_a_taken_name_are_refused_and_create_nothing()
    {
        await CreateAsync(_hive.Http, new { name = "ada", driver = "external", may_spawn = new { depth = 2, children = 4 } });
        await CreateAsync(_hive.Http, new { name = "bea", command = new[] { "sleep", "1000" }, parent = "ada" });
        var agents = Agents;

        var (self, selfProblem) = await PostAsync(_hive.Http, "/api/agents", new { name = "cyd", driver = "external", parent = "cyd" });
        Assert.Equal(HttpStatusCode.BadRequest, self);
        Assert.Contains("a cycle (cyd cannot be its own parent)", selfProblem.ToString());
        var (unknown, unknownProblem) = await PostAsync(_hive.Http, "/api/agents", new { name = "cyd", driver = "external", parent = "nobody" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown);
        Assert.Contains("parent: no agent named nobody", unknownProblem.ToString());
        var (limits, limitsProblem) = await PostAsync(_hive.Http, "/api/agents", new { name = "cyd", driver = "external", may_spawn = new { depth = 99, children = 1 } });
        Assert.Equal(HttpStatusCode.BadRequest, limits);
        Assert.Contains("may_spawn.depth must be 1 to 8", limitsProblem.ToString());

        // bea is under ada: making ada a child of bea would close a cycle.
        using (var cycle = await _hive.Http.PutAsJsonAsync("/api/agents/bea/config?dry_run=true", new { command = new[] { "sleep", "1000" }, parent = "bea" }))
            Assert.Equal(HttpStatusCode.BadRequest, cycle.StatusCode);
        await CreateAsync(_hive.Http, new { name = "cal", command = new[] { "sleep", "1000" } });
        using (var cycle = await _hive.Http.PutAsJsonAsync("/api/agents/cal/config?dry_run=true", new { command = new[] { "sleep", "1000" }, parent = "bea" }))
            Assert.True(cycle.IsSuccessStatusCode, await cycle.Content.ReadAsStringAsync()); // under bea is fine: no cycle
        await using (var bea = await _hive.ConnectAsync("bea"))
        {
            var taken = await bea.RefusalOfAsync(HierarchyVerbs.Spawn, Child("ada"));
            Assert.Equal("conflict", taken.Code);
        }
        // hivectl spawn: within ada's limits (a child of its own with may_spawn one level less), at once.
        var viaCli = await Hive.Tests.Cli.Hivectl.RunAsync(["spawn", "dot", "--purpose", "a helper", "--may-spawn-depth", "1", "--may-spawn-children", "1", "--", "sleep", "1000"],
            new Dictionary<string, string> { ["HIVE_SOCKET"] = _hive.SocketPath("ada") });
        Assert.True(viaCli.ExitCode == 0 && viaCli.Stdout.Contains("dot spawned under you"), viaCli.ToString());
        Assert.Equal("ada", (await RowAsync(_hive, "dot"))!.Value.GetProperty("parent").GetString());
        agents++;
        await using var ada = await _hive.ConnectAsync("ada");
        var takenByAda = await ada.RefusalOfAsync(HierarchyVerbs.Spawn, Child("zed"));
        Assert.Equal(("conflict", "there is already an agent named zed"), (takenByAda.Code, takenByAda.Error));
        var outOfRange = await ada.RefusalOfAsync(HierarchyVerbs.Spawn, Child("dov", new AgentSpawnLimits(1, 0)));
        Assert.Equal("bad_request", outOfRange.Code);
        Assert.Equal(agents + 1, Agents); // and cal, which the operator made
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM approvals WHERE kind = 'spawn'"));
    }

    [Fact]
    public async Task Destroying_a_parent_asks_what_becomes_of_its_children_and_destroys_its_subtree_or_moves_it_up()
    {
        await CreateAsync(_hive.Http, new { name = "pam", driver = "external", may_spawn = new { depth = 2, children = 4 } });
        await using (var pam = await _hive.ConnectAsync("pam"))
        {
            Assert.Equal(HierarchyVerbs.Spawned, (await pam.CallAsync(HierarchyVerbs.Spawn, Child("lux", new AgentSpawnLimits(1, 1)))).Outcome);
            Assert.Equal(HierarchyVerbs.Spawned, (await pam.CallAsync(HierarchyVerbs.Spawn, Child("lia"))).Outcome);
        }
        await using (var lux = await _hive.ConnectAsync("lux"))
            Assert.Equal(HierarchyVerbs.Spawned, (await lux.CallAsync(HierarchyVerbs.Spawn, Child("lot"))).Outcome);
        var pids = new List<int>();
        foreach (var name in new[] { "lux", "lia", "lot" }) pids.Add((await RowAsync(_hive, name))!.Value.Pid()!.Value);

        // Not without saying what becomes of them; nor with a choice the hive does not know.
        using (var unsaid = await _hive.Http.DeleteAsync("/api/agents/pam"))
        {
            Assert.Equal(HttpStatusCode.Conflict, unsaid.StatusCode);
            Assert.Contains("pam has 2 children (lia, lux): destroy them with it (children=destroy) or move them up to the top level (children=reparent)",
                await unsaid.Content.ReadAsStringAsync());
        }
        using (var unknown = await _hive.Http.DeleteAsync("/api/agents/pam?children=orphan"))
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.NotNull(await RowAsync(_hive, "lot"));

        // lux goes, and lot moves up to pam: it runs on, and reaches pam still.
        using (var moved = await _hive.Http.DeleteAsync("/api/agents/lux?children=reparent"))
            Assert.Equal(HttpStatusCode.NoContent, moved.StatusCode);
        Assert.Null(await RowAsync(_hive, "lux"));
        var lot = (await RowAsync(_hive, "lot"))!.Value;
        Assert.Equal(("running", "pam"), (lot.State(), lot.GetProperty("parent").GetString()));
        Assert.Equal("pam", MetaConfig(_hive, "lot").Parent);
        await using (var lotClient = await _hive.ConnectAsync("lot"))
            await lotClient.SendAsync("pam", "still here");

        // pam goes with everything under it; no process of theirs is left.
        using (var destroyed = await _hive.Http.DeleteAsync("/api/agents/pam?children=destroy"))
            Assert.Equal(HttpStatusCode.NoContent, destroyed.StatusCode);
        foreach (var name in new[] { "pam", "lia", "lot" }) Assert.Null(await RowAsync(_hive, name));
        await ProcessTable.UntilGoneAsync(pids, TimeSpan.FromSeconds(30));
        Assert.NotNull(await RowAsync(_hive, "zed"));
    }

    [Fact]
    public async Task Pausing_a_subtree_stops_its_running_turns_and_no_others_and_resuming_it_lifts_them_all()
    {
        await CreateAsync(_hive.Http, new { name = "hub", driver = "external" });
        await CreateAsync(_hive.Http, new { name = "hub-c", driver = "external", parent = "hub" });
        await CreateAsync(_hive.Http, new { name = "hub-g", driver = "external", parent = "hub-c" });
        string[] subtree = ["hub", "hub-c", "hub-g"];
        var watches = new Dictionary<string, Task<Hive.Contracts.Governance.WatchTurnReply>>();
        var clients = new List<AgentClient>();
        long zedTurn = 0;
        foreach (var name in subtree.Append("zed"))
        {
            var client = await _hive.ConnectAsync(name);
            clients.Add(client);
            var turn = await Hive.Tests.Features.Governance.GovernanceHive.GrantedAsync(client);
            if (name == "zed") zedTurn = turn;
            else watches[name] = client.CallAsync(Hive.Contracts.Governance.GovernanceVerbs.WatchTurn, new Hive.Contracts.Governance.WatchTurnArgs(turn, 30_000));
        }
        try
        {
            using (var bad = await _hive.Http.PostAsync("/api/governance/agents/hub/pause?subtree=maybe", null))
                Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            using (var paused = await _hive.Http.PostAsync("/api/governance/agents/hub/pause?subtree=true", null))
                Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
            foreach (var (name, watch) in watches)
                Assert.Equal(("stop", "paused"), ((await watch).State, (await watch).Reason));
            // zed, outside the subtree, was not told to stop: its turn runs on.
            await using (var zedWatch = await _hive.ConnectAsync("zed"))
                Assert.NotEqual("stop", (await zedWatch.CallAsync(Hive.Contracts.Governance.GovernanceVerbs.WatchTurn,
                    new Hive.Contracts.Governance.WatchTurnArgs(zedTurn, 200))).State);
            foreach (var name in subtree) Assert.True((await RowAsync(_hive, name))!.Value.GetProperty("paused").GetBoolean(), name);
            Assert.False((await RowAsync(_hive, "zed"))!.Value.GetProperty("paused").GetBoolean());

            using (var resumed = await _hive.Http.PostAsync("/api/governance/agents/hub/resume?subtree=true", null))
                Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
            foreach (var name in subtree) Assert.False((await RowAsync(_hive, name))!.Value.GetProperty("paused").GetBoolean(), name);
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
    }
}
