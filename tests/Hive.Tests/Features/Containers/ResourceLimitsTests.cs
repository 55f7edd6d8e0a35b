using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Features.Containers;
using Hive.Features.Containers.Runtime;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// Tests that read an agent's CPU share against its cap: they run alone (after the parallel tests), so another test's
/// busy agents on this machine's few cores do not take the share the cap would have given.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuMeasuredCollection
{
    public const string Name = "CpuMeasured";
}

/// <summary>
/// Each agent's caps on its cgroup (memory, CPU, pids) and its usage read live, with real processes. Where the machine has
/// no writable cgroup tree, each test says so and checks the <c>limits: "off"</c> path instead.
/// </summary>
[Collection(CpuMeasuredCollection.Name)]
public sealed class ResourceLimitsTests(ITestOutputHelper output)
{
    /// <summary>Whether this hive can cap its agents; if not, the row says <c>limits: "off"</c> and the test ends there.</summary>
    private async Task<bool> LimitsOnAsync(HiveInstance hive, string agent)
    {
        var on = hive.Service<AgentCgroups>().LimitsOn;
        var limits = (await RowAsync(hive, agent))!.Value.GetProperty("limits");
        if (on) return true;
        output.WriteLine("no writable cgroup tree on this machine: checking the limits-off path only");
        Assert.Equal("off", limits.GetString());
        return false;
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task An_agent_that_allocates_past_its_memory_cap_is_oom_killed_and_reported_so(string driver)
    {
        var metricsPort = HostProcess.FreePort();
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Containers:Limits:MemoryMiB", "64",
            "--Hive:Metrics:Urls", $"http://127.0.0.1:{metricsPort}");
        await using var events = await hive.OpenEventsAsync();
        await using var manager = await hive.ConnectAsync("manager");
        var name = $"hog-{driver[..4]}";
        // 8 MiB more each round, each written, until the kernel stops it.
        var row = await CreateAsync(hive.Http, new
        {
            name, driver, restart = "never", command = new[] { "/usr/bin/perl", "-e", "my @a; while (1) { push @a, 'x' x (8 << 20) }" },
        });
        if (!await LimitsOnAsync(hive, name)) return;
        Assert.Equal(64, row.GetProperty("limits").GetProperty("memory_mib").GetInt32());

        var crashed = await NextRowAsync(events, name, r => r.State() == "crashed");
        var exit = crashed.GetProperty("last_exit");
        Assert.Equal(9, exit.GetProperty("signal").GetInt32());
        Assert.Equal("oom", exit.GetProperty("reason").GetString());
        var told = await MessageFromHiveAsync(manager, "container_crash", name);
        Assert.Contains("killed: out of memory (limit 64 MiB)", told.Body);
        Assert.Equal("oom", (await RowAsync(hive, name))!.Value.GetProperty("last_exit").GetProperty("reason").GetString());
        // Counted in the metrics as it was recorded (Hive:Metrics:Urls).
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        Assert.Equal(1, Host.MetricsTests.Value(metrics, "hive_agent_oom_kills_total", $"agent=\"{name}\""));
        Assert.Equal(1, Host.MetricsTests.Value(metrics, "hive_agents", "state=\"crashed\""));
    }

    [Fact]
    public async Task A_fork_bomb_under_pids_64_leaves_the_host_and_another_agent_serving()
    {
        await using var hive = await HiveInstance.StartAsync([],
            "--Hive:Containers:Limits:Pids", "64", "--Hive:Containers:Limits:CpuPercent", "50", "--Hive:Containers:UsageSeconds", "0.2");
        await using var events = await hive.OpenEventsAsync();
        await CreateAsync(hive.Http, SampleAgent.Body("calm", "process"));
        // Every process forks for ever; past the cap each fork fails and it tries again (perl: a failed fork is no exit).
        var bomb = await CreateAsync(hive.Http, new { name = "bomb", driver = "process", restart = "never", command = new[] { "/usr/bin/perl", "-e", "while (1) { fork }" } });
        if (!await LimitsOnAsync(hive, "bomb"))
        {
            await DestroyAsync(hive, "bomb");
            return;
        }
        try
        {
            var cgroup = hive.Service<AgentCgroups>().RunningOf("bomb")!;
            // It reaches the cap and stays there.
            await HiveInstance.Until(() => cgroup.Usage?.View.Pids >= 60, TimeSpan.FromSeconds(20), "the bomb to reach its cap");
            var loop = hive.Service<AgentUsageLoop>();
            var ticks = loop.CompletedTicks;
            await HiveInstance.Until(() => loop.CompletedTicks >= ticks + 3, TimeSpan.FromSeconds(20), "three usage windows");
            Assert.InRange(cgroup.Usage!.View.Pids, 1, 64);

            // The host answers, and the other agent does its work.
            Assert.Equal(JsonValueKind.Object, (await hive.GetJsonAsync("/api/state")).ValueKind);
            using var sent = await hive.Http.PostAsJsonAsync("/api/messages", new { to = "calm", body = "alive?" });
            var answer = await events.WaitForPayloadAsync<MessageView>("sent", e => e.From == "calm");
            Assert.Equal("↩ ?evila", answer.Body);
            Assert.Equal(bomb.Pid(), (await RowAsync(hive, "bomb"))!.Value.Pid());
        }
        finally
        {
            await DestroyAsync(hive, "bomb");
            await DestroyAsync(hive, "calm");
        }
    }

    [Fact]
    public async Task A_busy_loop_under_cpu_50_never_shows_more_than_its_cap_in_its_usage()
    {
        await using var hive = await HiveInstance.StartAsync([],
            "--Hive:Containers:Limits:CpuPercent", "50", "--Hive:Containers:UsageSeconds", "1");
        await using var events = await hive.OpenEventsAsync();
        await CreateAsync(hive.Http, new { name = "spin", driver = "process", command = new[] { "/bin/sh", "-c", "while :; do :; done" } });
        if (!await LimitsOnAsync(hive, "spin")) return;
        Assert.Equal(50, (await RowAsync(hive, "spin"))!.Value.GetProperty("limits").GetProperty("cpu_percent").GetInt32());
        var loop = hive.Service<AgentUsageLoop>();
        var ticks = loop.CompletedTicks;
        // A couple of windows to settle, then three in a row, each read from the row as the API shows it.
        await HiveInstance.Until(() => loop.CompletedTicks >= ticks + 3, TimeSpan.FromSeconds(20), "three usage windows");
        var seen = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var at = loop.CompletedTicks;
            await HiveInstance.Until(() => loop.CompletedTicks > at, TimeSpan.FromSeconds(10), "a usage window");
            var usage = (await RowAsync(hive, "spin"))!.Value.GetProperty("usage");
            seen.Add(usage.GetProperty("cpu_percent").GetDouble());
            Assert.True(usage.GetProperty("pids").GetInt64() >= 1);
            Assert.True(usage.GetProperty("memory_mib").GetDouble() > 0);
        }
        output.WriteLine($"cpu_percent over three windows: {string.Join(", ", seen)}");
        // What holds on a loaded machine: the cap is never exceeded (a window's edges allow a little over 50), and the loop
        // is seen using CPU. How much below the cap it gets depends on what else the machine runs (a second suite beside
        // this one gave it 21-41 %); an idle machine without the cap would show about 100.
        Assert.All(seen, percent => Assert.InRange(percent, 0.1, 65));
        // The state snapshot carries it too, and the loop told the dashboard.
        var row = (await hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == "spin");
        Assert.Equal(JsonValueKind.Object, row.GetProperty("usage").ValueKind);
        var told = await NextEventAsync(events, "agent_usage", e => e.Deserialize<AgentUsagePayload>(HiveJson.Options) is { Agent: "spin", CpuPercent: > 0 });
        // The payload's exact fields, in order: the raw JSON says so, a record would not.
        Assert.Equal(["agent", "memory_mib", "cpu_percent", "pids"], told.EnumerateObject().Select(p => p.Name));
        await DestroyAsync(hive, "spin");
    }

    [Fact]
    public async Task Usage_events_stop_when_nothing_changes()
    {
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Containers:UsageSeconds", "0.2");
        await using var events = await hive.OpenEventsAsync();
        await CreateAsync(hive.Http, Shell("idle", "process", "true"));
        if (!await LimitsOnAsync(hive, "idle")) return;
        var loop = hive.Service<AgentUsageLoop>();
        await events.WaitForPayloadAsync<AgentUsagePayload>("agent_usage", e => e.Agent == "idle");
        // Settled (its start-up done: `exec sleep`), then five windows with nothing to tell.
        var settled = loop.CompletedTicks;
        await HiveInstance.Until(() => loop.CompletedTicks >= settled + 3, TimeSpan.FromSeconds(10), "three usage windows");
        await MarkAsync(hive, events, "before");
        var start = loop.CompletedTicks;
        await HiveInstance.Until(() => loop.CompletedTicks >= start + 5, TimeSpan.FromSeconds(10), "five usage windows");
        var between = await MarkAsync(hive, events, "after");
        Assert.DoesNotContain(between, e => e.Type == "agent_usage");
        Assert.NotNull((await RowAsync(hive, "idle"))!.Value.GetProperty("usage").GetProperty("at").GetString());
        await DestroyAsync(hive, "idle");
    }

    [Fact]
    public async Task Without_a_writable_cgroup_tree_limits_are_off_said_once_and_agents_still_run()
    {
        // A cgroup tree the host cannot make its directory in: a pids hierarchy whose place for this hive is a regular file.
        var root = Path.Combine(Path.GetTempPath(), "hive-cgroot-" + Guid.NewGuid().ToString("N")[..12]);
        var dataDir = Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path.Combine(root, "pids"));
        File.WriteAllText(Path.Combine(root, "pids", "cgroup.procs"), "");
        File.WriteAllText(Path.Combine(root, "pids", CgroupTree.HiveDirName(dataDir)), "not a directory");
        try
        {
            await using var hive = await HiveInstance.StartOnAsync(dataDir, [], ["--Hive:Containers:CgroupRoot", root, "--Hive:Containers:UsageSeconds", "0.2"]);
            await using var events = await hive.OpenEventsAsync();
            var first = await CreateAsync(hive.Http, SampleAgent.Body("first", "process"));
            var second = await CreateAsync(hive.Http, new { name = "second", driver = "bubblewrap", command = new[] { "/bin/sh", "-c", "exec sleep 1000" } });
            Assert.False(hive.Service<AgentCgroups>().LimitsOn);
            Assert.Equal("off", first.GetProperty("limits").GetString());
            Assert.Equal("off", second.GetProperty("limits").GetString());
            foreach (var row in (await hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray())
            {
                var name = row.GetProperty("name").GetString();
                if (name is "first" or "second") Assert.Equal("off", row.GetProperty("limits").GetString());
                else Assert.Equal(JsonValueKind.Null, row.GetProperty("limits").ValueKind); // external: not the host's to cap
                Assert.Equal(JsonValueKind.Null, row.GetProperty("usage").ValueKind);
            }

            // It runs, held by its process group, and does its work.
            using var sent = await hive.Http.PostAsJsonAsync("/api/messages", new { to = "first", body = "alive?" });
            var answer = await events.WaitForPayloadAsync<MessageView>("sent", e => e.From == "first");
            Assert.Equal("↩ ?evila", answer.Body);
            Assert.Equal("running", (await RowAsync(hive, "second"))!.Value.State());

            // Said once, clearly, with why; not again for the second agent nor for every row read.
            var said = hive.Logs.Lines.Where(l => l.Text.Contains("resource limits are OFF", StringComparison.Ordinal)).ToList();
            var warning = Assert.Single(said);
            Assert.Equal(LogLevel.Warning, warning.Level);
            Assert.Contains(Path.Combine(root, "pids", CgroupTree.HiveDirName(dataDir)), warning.Text);
            output.WriteLine(warning.Text);
            await DestroyAsync(hive, "first");
            await DestroyAsync(hive, "second");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>Sends a marker message to the manager and returns the events that came before its <c>sent</c>.</summary>
    private static async Task<List<(string Type, JsonElement Json)>> MarkAsync(HiveInstance hive, SseStream events, string marker)
    {
        using var sent = await hive.Http.PostAsJsonAsync("/api/messages", new { to = "manager", body = marker });
        var seen = new List<(string, JsonElement)>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var e = await events.NextAsync(deadline - DateTime.UtcNow) ?? throw new InvalidOperationException("the event stream ended");
            if (e.Type == "sent" && e.Payload<MessageView>().Body == marker) return seen;
            seen.Add((e.Type, e.Json.Clone()));
        }
        throw new TimeoutException($"no sent event for the marker {marker}");
    }
}
