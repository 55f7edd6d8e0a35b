using Hive.Contracts.Messages;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>An agent's exit is noticed when it happens, told to the manager, and the restart policy takes over.</summary>
public sealed class CrashWatchTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task Kill_9_of_the_agent_is_a_crash_the_manager_is_told_and_the_policy_restarts_it(string driver)
    {
        var name = $"crashy-{driver[..4]}";
        await using var events = await _hive.OpenEventsAsync();
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var row = await CreateAsync(_hive.Http, SampleAgent.Body(name, driver));
            var firstPid = row.Pid()!.Value;
            var agent = await AgentProcessAsync(firstPid);

            ProcessTable.Kill(agent, 9);

            var crashed = await NextRowAsync(events, name, r => r.State() == "crashed", TimeSpan.FromSeconds(10));
            Assert.Null(crashed.Pid());
            Assert.Equal(JsonValueKind.Object, crashed.GetProperty("last_exit").ValueKind);
            if (driver == "process") Assert.Equal(9, crashed.GetProperty("last_exit").GetProperty("signal").GetInt32());
            var told = await MessageFromHiveAsync(manager, "container_crash", name);
            Assert.Contains("crashed", told.Body);
            Assert.Equal(name, told.ExtraString("agent"));

            var back = await NextRowAsync(events, name, r => r.State() == "running" && r.Transient() is null);
            Assert.Equal(1, back.GetProperty("restarts").GetInt32());
            Assert.NotEqual(firstPid, back.Pid());
            await ProcessTable.UntilGoneAsync([firstPid, agent]);

            // It answers again.
            using var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body = "still there?" });
            var answer = await events.WaitForPayloadAsync<MessageView>("sent", e => e.From == name);
            Assert.Equal("↩ ?ereht llits", answer.Body);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_crash_looping_agent_is_failed_after_max_restarts_and_the_manager_is_told_each_time()
    {
        // A hive of its own: two restarts allowed.
        var metricsPort = HostProcess.FreePort();
        await using var hive = await HiveInstance.StartAsync([],
            "--Hive:Containers:RestartBackoffSeconds", "0.02", "--Hive:Containers:MaxRestarts", "2", "--Hive:Metrics:Urls", $"http://127.0.0.1:{metricsPort}");
        await using var events = await hive.OpenEventsAsync();
        await using var manager = await hive.ConnectAsync("manager");
        const string name = "looper";

        var (status, _) = await PostAsync(hive.Http, "/api/agents", new { name, command = new[] { "/bin/sh", "-c", "exit 3" }, driver = "process" });
        Assert.Equal(HttpStatusCode.Created, status);

        var failed = await NextRowAsync(events, name, r => r.State() == "failed");
        Assert.Equal(2, failed.GetProperty("restarts").GetInt32());
        Assert.Equal(3, failed.GetProperty("last_exit").GetProperty("code").GetInt32());
        for (var i = 0; i < 2; i++) Assert.Contains("restarting in", (await MessageFromHiveAsync(manager, "container_crash", name)).Body);
        Assert.Contains("failed", (await MessageFromHiveAsync(manager, "container_crash", name)).Body);

        // The metrics read the registry: its restarts, and the agent among the failed.
        using (var scraper = new HttpClient())
        {
            var metrics = await scraper.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
            Assert.Equal(2, Host.MetricsTests.Value(metrics, "hive_agent_restarts_total", $"agent=\"{name}\""));
            Assert.Equal(1, Host.MetricsTests.Value(metrics, "hive_agents", "state=\"failed\""));
        }

        // Failed stays failed (nothing restarts it) until the operator starts it; then it has a fresh budget.
        Assert.Equal("failed", (await RowAsync(hive, name))!.Value.State());
        await PostAsync(hive.Http, $"/api/agents/{name}/start");
        await NextRowAsync(events, name, r => r.State() == "failed");
    }

    [Fact]
    public async Task With_restart_policy_never_a_crashed_agent_stays_crashed()
    {
        const string name = "no-restart";
        await using var events = await _hive.OpenEventsAsync();
        try
        {
            var row = await CreateAsync(_hive.Http, Shell(name, "process", "true", restart: "never"));
            ProcessTable.Kill(await AgentProcessAsync(row.Pid()!.Value), 9);
            var crashed = await NextRowAsync(events, name, r => r.State() == "crashed");
            Assert.Equal(0, crashed.GetProperty("restarts").GetInt32());
            // A marker change proves no restart came in between.
            await using var marker = await _hive.ConnectAsync("manager");
            var after = await RowAsync(_hive, name);
            Assert.Equal("crashed", after!.Value.State());
            Assert.Null(after.Value.Pid());
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task Messages_a_crashed_agent_had_taken_and_not_acknowledged_are_due_again_at_once()
    {
        const string name = "forgetful";
        try
        {
            // The managed process only sleeps; the test speaks on its socket as its harness would.
            var row = await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            await using var harness = await _hive.ConnectAsync(name);
            using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body = "take me" })) Assert.True(sent.IsSuccessStatusCode);
            var taken = (await harness.RecvMessageAsync(5_000))!; // in flight: the ack timeout is 60 s
            Assert.Null(await harness.RecvMessageAsync(0));

            ProcessTable.Kill(await AgentProcessAsync(row.Pid()!.Value), 9);

            // Within seconds, not the 60 s of the ack timeout: the crash released it.
            var again = (await harness.RecvAsync(10_000))!.Value;
            Assert.Equal(taken.Id, again.GetProperty("id").GetInt64());
            Assert.True(again.GetProperty("redelivered").GetBoolean()); // the wire's own flag, raw: the record computes it
            Assert.Equal(2, again.Deserialize<MessageView>(Hive.Contracts.Json.HiveJson.Options)!.DeliveryCount);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    /// <summary>The agent's own process: in the group led by the driver's supervisor, and not the supervisor.</summary>
    private static bool IsAgentProgram(int pid)
    {
        try { return new FileInfo($"/proc/{pid}/exe").LinkTarget is { } exe && (exe.EndsWith("/dotnet", StringComparison.Ordinal) || exe.EndsWith("/sleep", StringComparison.Ordinal)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    internal static async Task<int> AgentProcessAsync(int pgid)
    {
        var found = 0;
        await HiveInstance.Until(() =>
        {
            // The agent itself (the sample agent's dotnet, or a shell agent's sleep), not the driver's wrappers, staging steps or the sandbox's init.
            found = AgentProcesses(pgid).Where(IsAgentProgram).OrderDescending().FirstOrDefault();
            return found > 0;
        }, what: $"an agent process in group {pgid}");
        return found;
    }
}
