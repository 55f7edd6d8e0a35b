using Hive.Features.Containers.Runtime;
using Xunit.Abstractions;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// A subtree stopped and started as one thing: a parent with two children and a grandchild (one child ignores SIGTERM,
/// so the grace period runs out and the rest is frozen and killed; the grandchild leaves its process group, which only
/// its cgroup holds) stops exactly those four, their processes and cgroups gone, while an agent beside them runs on; an
/// external agent under the parent is skipped and said so; start brings the four back. Bad input: an unknown agent, a
/// subtree flag that is neither true nor false. The agents are named for this class alone (their processes are looked for
/// by name).
/// </summary>
public sealed class SubtreeLifecycleTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] Subtree = ["stl-boss", "stl-a", "stl-b", "stl-aa"];

    private HiveInstance _hive = null!;

    public async Task InitializeAsync() =>
        _hive = await HiveInstance.StartAsync([], "--Hive:Containers:Driver", "process", "--Hive:Containers:StopGraceSeconds", "1");

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        foreach (var name in Subtree.Append("stl-keeper"))
            foreach (var (pid, _) in AgentProcesses(name)) ProcessTable.Kill(pid); // only if a test failed
    }

    private static object Agent(string name, string? parent, string script = "exec sleep 1000") =>
        new { name, parent, command = new[] { "/bin/sh", "-c", script } };

    [Fact]
    public async Task Stop_of_a_subtree_ends_exactly_its_agents_and_start_brings_them_back()
    {
        await CreateAsync(_hive.Http, Agent("stl-keeper", null));
        await CreateAsync(_hive.Http, Agent("stl-boss", null));
        await CreateAsync(_hive.Http, Agent("stl-a", "stl-boss"));
        await CreateAsync(_hive.Http, Agent("stl-b", "stl-boss", "trap '' TERM; exec sleep 1000")); // ignored across exec
        // Where the agent has a cgroup, a grandchild that leaves its process group: only the cgroup still holds it.
        var held = _hive.Service<AgentCgroups>().RunningOf("stl-a") is not null;
        await CreateAsync(_hive.Http, Agent("stl-aa", "stl-a", held ? "setsid sleep 1000 & exec sleep 1000" : "exec sleep 1000"));
        await CreateAsync(_hive.Http, new { name = "stl-ext", driver = "external", parent = "stl-boss" });
        Assert.All(Subtree.Append("stl-keeper"), name => Assert.NotEmpty(AgentProcesses(name)));
        var cgroups = Subtree.Select(_hive.Service<AgentCgroups>().RunningOf).OfType<AgentCgroup>().SelectMany(c => c.Dirs).ToList();
        output.WriteLine($"the subtree's cgroups: {string.Join(", ", cgroups)}");
        Assert.All(cgroups, dir => Assert.True(Directory.Exists(dir), dir));

        var (status, stopped) = await PostAsync(_hive.Http, "/api/agents/stl-boss/stop?subtree=true");
        Assert.True(status == HttpStatusCode.OK, stopped.ToString());
        Assert.Equal(("stl-boss", "stop"), (stopped.GetProperty("agent").GetString(), stopped.GetProperty("action").GetString()));
        var names = stopped.GetProperty("agents").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.Equal(Subtree.Order(), names.Order());
        Assert.Equal("stl-boss", names[^1]); // children first
        Assert.True(names.IndexOf("stl-aa") < names.IndexOf("stl-a"));
        var skipped = Assert.Single(stopped.GetProperty("skipped").EnumerateArray());
        Assert.Equal("stl-ext", skipped.GetProperty("name").GetString());
        Assert.Contains("external", skipped.GetProperty("reason").GetString());

        // Their processes are gone (the one that left its group too), and so are their cgroups; the agent beside them runs on.
        Assert.All(Subtree, name => Assert.Empty(AgentProcesses(name)));
        Assert.All(cgroups, dir => Assert.False(Directory.Exists(dir), dir));
        foreach (var name in Subtree)
        {
            var row = (await RowAsync(_hive, name))!.Value;
            Assert.Equal(("stopped", "stopped", null), (row.State(), row.GetProperty("desired").GetString(), row.Transient()));
        }
        Assert.Equal("running", (await RowAsync(_hive, "stl-keeper"))!.Value.State());
        Assert.NotEmpty(AgentProcesses("stl-keeper"));
        // One stop intervention each, as a single stop records it.
        Assert.Equal(Subtree.Order(), _hive.QueryDbList<string>(
            "SELECT target FROM interventions WHERE action = 'stop' AND actor = 'operator' AND target LIKE 'stl-%'").Order());

        var (started, running) = await PostAsync(_hive.Http, "/api/agents/stl-boss/start?subtree=true");
        Assert.True(started == HttpStatusCode.OK, running.ToString());
        names = running.GetProperty("agents").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.Equal(Subtree.Order(), names.Order());
        Assert.Equal("stl-boss", names[0]); // parents first
        Assert.True(names.IndexOf("stl-a") < names.IndexOf("stl-aa"));
        Assert.Equal("stl-ext", Assert.Single(running.GetProperty("skipped").EnumerateArray()).GetProperty("name").GetString());
        foreach (var name in Subtree)
        {
            var row = (await RowAsync(_hive, name))!.Value;
            Assert.Equal(("running", "running"), (row.State(), row.GetProperty("desired").GetString()));
            Assert.NotEmpty(AgentProcesses(name));
        }

        // Stopped again, as one, so the fixture's stop has nothing of this test left to wait out.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(_hive.Http, "/api/agents/stl-boss/stop?subtree=true")).Status);
        await DestroyAsync(_hive, "stl-keeper");
    }

    [Fact]
    public async Task Under_cgroups_v2_a_run_is_frozen_then_killed_with_one_write_each()
    {
        // A hybrid host (v1 controllers, a unified hierarchy beside them) has its unified one apart; a v2 host has only that.
        var root = new[] { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" }.FirstOrDefault(r => File.Exists(Path.Combine(r, "cgroup.controllers")));
        if (root is null)
        {
            output.WriteLine("no cgroups v2 here: nothing to freeze");
            return;
        }
        var dataDir = Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);
        using var cgroups = new AgentCgroups(dataDir, root, Microsoft.Extensions.Logging.Abstractions.NullLogger<AgentCgroups>.Instance);
        var cgroup = cgroups.Create("stl-v2", new ResourceLimits(256, 100, 64));
        if (cgroup is null)
        {
            output.WriteLine($"{root} is not this host's to use (not root, nothing delegated)");
            return;
        }

        try
        {
            // Inside it, a process that ignores SIGTERM and one that left its process group and session.
            using var process = System.Diagnostics.Process.Start("/bin/sh",
                ["-c", $"echo $$ > {cgroup.Primary}/cgroup.procs; trap '' TERM; setsid sleep 1000 & exec sleep 1000"])!;
            await HiveInstance.Until(() => Members(cgroup).Count >= 2, TimeSpan.FromSeconds(30), "two processes in the cgroup");

            Assert.True(cgroup.Freeze());
            await HiveInstance.Until(() => File.ReadAllText(Path.Combine(cgroup.Primary, "cgroup.events")).Contains("frozen 1"),
                TimeSpan.FromSeconds(30), "the cgroup frozen");
            cgroup.Kill();
            output.WriteLine($"frozen, then killed: {cgroup.Primary}");
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            await HiveInstance.Until(() => Members(cgroup).Count == 0, TimeSpan.FromSeconds(60), "the cgroup empty");
        }
        finally
        {
            // Whatever happened above: SIGKILL rounds end even frozen processes under v2, and the directory goes.
            Assert.True(await cgroups.KillAndRemoveAsync(cgroup));
        }
        Assert.False(Directory.Exists(cgroup.Primary));
    }

    private static List<string> Members(AgentCgroup cgroup) =>
        File.ReadAllText(Path.Combine(cgroup.Primary, "cgroup.procs")).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    [Fact]
    public async Task An_unknown_agent_is_404_and_a_subtree_flag_neither_true_nor_false_is_400()
    {
        foreach (var action in new[] { "stop", "start" })
        {
            var (status, problem) = await PostAsync(_hive.Http, $"/api/agents/stl-nobody/{action}?subtree=true");
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Contains("no agent named stl-nobody", problem.GetProperty("detail").GetString());
            (status, problem) = await PostAsync(_hive.Http, $"/api/agents/manager/{action}?subtree=maybe");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("subtree is true or false", problem.GetProperty("detail").GetString());
        }
    }
}
