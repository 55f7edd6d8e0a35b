using Hive.Contracts.Agents;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The host as a child process, killed with SIGKILL in the middle of destroying a parent with its subtree, or of stopping
/// a subtree (a child that ignores SIGTERM holds either in its grace period): after the restart no agent of that subtree
/// runs, while an agent outside it runs again. The subtree's agents are named for this class alone (their processes are looked for by name).
/// </summary>
public sealed class SubtreeHostLifeTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);

    private static readonly string[] Args = ["--Hive:Containers:Driver", "process", "--Hive:Containers:StopGraceSeconds", "60"];

    private static readonly string[] Subtree = ["sht-boss", "sht-a", "sht-b", "sht-aa"];

    /// <summary>A child that ignores SIGTERM (inherited across exec), so stopping it waits out the grace period.</summary>
    private static ChildSpawnArgs Stubborn(string name, AgentSpawnLimits? maySpawn = null) =>
        new(name, "holds on", Command: ["/bin/sh", "-c", "trap '' TERM; exec sleep 1000"], MaySpawn: maySpawn);

    [Fact]
    public async Task After_a_SIGKILL_mid_destroy_no_agent_of_the_destroyed_subtree_runs_again_and_the_others_do()
    {
        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
        {
            using var http = host.CreateClient(TimeSpan.FromSeconds(300));
            await CreateAsync(http, new { name = "sht-keeper", command = new[] { "sleep", "1000" } });
            await CreateAsync(http, new { name = "sht-boss", command = new[] { "sleep", "1000" }, may_spawn = new { depth = 2, children = 4 } });
            await using (var boss = await host.ConnectAsync("sht-boss"))
            {
                Assert.Equal(HierarchyVerbs.Spawned, (await boss.CallAsync(HierarchyVerbs.Spawn, Stubborn("sht-a", new AgentSpawnLimits(1, 1)))).Outcome);
                Assert.Equal(HierarchyVerbs.Spawned, (await boss.CallAsync(HierarchyVerbs.Spawn, Stubborn("sht-b"))).Outcome);
            }
            await using (var a = await host.ConnectAsync("sht-a"))
                Assert.Equal(HierarchyVerbs.Spawned, (await a.CallAsync(HierarchyVerbs.Spawn, Stubborn("sht-aa"))).Outcome);
            Assert.All(Subtree, name => Assert.NotEmpty(AgentProcesses(name)));

            // The destroy starts with the deepest child, which holds it for its grace period: the host is killed then.
            var destroying = http.DeleteAsync("/api/agents/sht-boss?children=destroy");
            await HiveInstance.Until(() => Transients(http).Any(t => t is "destroying"), TimeSpan.FromSeconds(60), "a child being destroyed");
            await host.KillAsync();
            try { (await destroying).Dispose(); } catch (HttpRequestException) { } // the host died under it
        }

        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
        {
            using var http = host.CreateClient();
            await HiveInstance.Until(() => AgentProcesses("sht-keeper").Count > 0 && Rows(http).Any(r => r.GetProperty("name").GetString() == "sht-keeper"
                && r.GetProperty("state").GetString() == "running"), TimeSpan.FromSeconds(60), "the agent outside the subtree to run again");
            foreach (var row in Rows(http).Where(r => Subtree.Contains(r.GetProperty("name").GetString())))
                Assert.True(row.GetProperty("state").GetString() != "running" && row.GetProperty("desired").GetString() == "stopped", row.ToString());
            Assert.All(Subtree, name => Assert.Empty(AgentProcesses(name)));
            await host.TerminateAsync(TimeSpan.FromSeconds(90));
        }
    }

    [Fact]
    public async Task After_a_SIGKILL_mid_subtree_stop_no_agent_of_the_stopped_subtree_runs_again_and_the_others_do()
    {
        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
        {
            using var http = host.CreateClient(TimeSpan.FromSeconds(300));
            await CreateAsync(http, new { name = "sht-keeper", command = new[] { "sleep", "1000" } });
            await CreateAsync(http, new { name = "sht-boss", command = new[] { "sleep", "1000" } });
            foreach (var (name, parent) in new[] { ("sht-a", "sht-boss"), ("sht-b", "sht-boss"), ("sht-aa", "sht-a") })
                await CreateAsync(http, new { name, parent, command = Stubborn(name).Command });
            Assert.All(Subtree, name => Assert.NotEmpty(AgentProcesses(name)));

            // The stop's change marks all four at once (desired stopped, each stopping); its stubborn children then hold it
            // in the grace period: the host is killed there.
            var stopping = http.PostAsync("/api/agents/sht-boss/stop?subtree=true", null);
            await HiveInstance.Until(() => Transients(http).Count(t => t is "stopping") == Subtree.Length, TimeSpan.FromSeconds(60), "the subtree being stopped");
            await host.KillAsync();
            try { (await stopping).Dispose(); } catch (HttpRequestException) { } // the host died under it
        }

        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
        {
            using var http = host.CreateClient();
            await HiveInstance.Until(() => AgentProcesses("sht-keeper").Count > 0 && Rows(http).Any(r => r.GetProperty("name").GetString() == "sht-keeper"
                && r.GetProperty("state").GetString() == "running"), TimeSpan.FromSeconds(60), "the agent outside the subtree to run again");
            var rows = Rows(http).Where(r => Subtree.Contains(r.GetProperty("name").GetString())).ToList();
            Assert.Equal(Subtree.Length, rows.Count);
            foreach (var row in rows)
                Assert.True(row.GetProperty("state").GetString() != "running" && row.GetProperty("desired").GetString() == "stopped", row.ToString());
            Assert.All(Subtree, name => Assert.Empty(AgentProcesses(name)));
            await host.TerminateAsync(TimeSpan.FromSeconds(90));
        }
    }

    private static List<JsonElement> Rows(HttpClient http) =>
        JsonDocument.Parse(http.GetStringAsync("/api/agents").GetAwaiter().GetResult()).RootElement.EnumerateArray().Select(a => a.Clone()).ToList();

    private static IEnumerable<string?> Transients(HttpClient http) =>
        Rows(http).Where(r => Subtree.Contains(r.GetProperty("name").GetString())).Select(r => r.GetProperty("transient").GetString());

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var name in Subtree.Append("sht-keeper"))
            foreach (var (pid, _) in AgentProcesses(name)) ProcessTable.Kill(pid); // only if a test failed
        // The last life may have been killed: its agents' (empty) cgroups are left for a next start that will not come.
        await new Hive.Features.Containers.Runtime.AgentCgroups(Path.GetFullPath(_dataDir), "/sys/fs/cgroup",
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Hive.Features.Containers.Runtime.AgentCgroups>.Instance).SweepLeftoversAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
