using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The host as a child process, killed with SIGKILL: its agents die with it (none is left in <c>/proc</c>), and the next
/// host runs every agent desired running exactly once, with no transient left over from the killed one.
/// </summary>
public sealed class HostLifeTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public async Task Kill_9_of_the_host_leaves_no_agent_process_and_the_next_host_runs_each_desired_agent_exactly_once()
    {
        var agents = new Dictionary<string, string> { ["echo-proc"] = "process", ["echo-bwrap"] = "bubblewrap" };
        var before = new List<int>();
        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
        {
            using var http = host.CreateClient();
            foreach (var (name, driver) in agents)
                before.AddRange(ProcessTable.Family((await CreateAsync(http, SampleAgent.Body(name, driver))).Pid()!.Value));
            await CreateAsync(http, Shell("resting", "process", "true"));
            // A child of a process-driver agent that left its group (setsid): only the agent's cgroup still holds it.
            await CreateAsync(http, Shell("escaper", "process", "setsid sleep 4244 &"));
            var escaped = 0;
            await HiveInstance.Until(() => ProcessTable.Find("sleep", "4244") is [var pid] && (escaped = pid) > 0, what: "the escaped child");
            before.Add(escaped);
            var (stopped, _) = await PostAsync(http, "/api/agents/resting/stop");
            Assert.Equal(HttpStatusCode.OK, stopped);
            foreach (var name in agents.Keys) await HiveInstance.Until(() => AgentProcessesNamed(name).Count == 1, what: $"{name} to run");

            await host.KillAsync();
            await ProcessTable.UntilGoneAsync(before, TimeSpan.FromSeconds(10));
            Assert.All(agents.Keys, name => Assert.Empty(AgentProcessesNamed(name)));
        }

        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
        {
            using var http = host.CreateClient();
            foreach (var name in agents.Keys)
            {
                await Eventually(http, name, row => row.State() == "running" && row.Transient() is null);
                await HiveInstance.Until(() => AgentProcessesNamed(name).Count == 1, what: $"{name} to run once");
            }
            var resting = await RowOfAsync(http, "resting");
            Assert.Equal("stopped", resting.State());
            Assert.Null(resting.Pid());

            // It answers: the new life reached its socket.
            await using var events = await SseStream.OpenAsync(http);
            using (var sent = await http.PostAsJsonAsync("/api/messages", new { to = "echo-proc", body = "again" })) Assert.True(sent.IsSuccessStatusCode);
            await NextEventAsync(events, "sent", e => e.GetProperty("from").GetString() == "echo-proc");
            foreach (var name in agents.Keys) Assert.Single(AgentProcessesNamed(name));

            // The escaper runs again, and so does its escaped child: a graceful stop of the host ends that one too.
            await HiveInstance.Until(() => ProcessTable.Find("sleep", "4244").Count == 1, what: "the escaped child again");
            var pids = agents.Keys.SelectMany(AgentProcessesNamed).Concat(ProcessTable.Find("sleep", "4244")).ToList();
            await host.TerminateAsync(TimeSpan.FromSeconds(30));
            await ProcessTable.UntilGoneAsync(pids, TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task A_host_killed_in_the_middle_of_a_restart_shows_no_stale_transient_when_it_comes_back()
    {
        // A long grace period: the restart is still stopping the agent when the host is killed.
        string[] args = [.. Args, "--Hive:Containers:StopGraceSeconds", "60"];
        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: args))
        {
            using var http = host.CreateClient(TimeSpan.FromSeconds(120));
            await CreateAsync(http, Shell("stubborn", "process", "trap '' TERM; touch ready"));
            await HiveInstance.Until(() => File.Exists(Path.Combine(_dataDir, "agents", "stubborn", "state", "ready")), what: "the trap to be set");
            var restarting = http.PostAsync("/api/agents/stubborn/restart", null);
            await Eventually(http, "stubborn", row => row.Transient() == "restarting");

            await host.KillAsync();
            await ProcessTable.UntilGoneAsync(SleepersOf("stubborn"), TimeSpan.FromSeconds(10));
            try { (await restarting).Dispose(); } catch (HttpRequestException) { } // the host died under it
        }

        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: args))
        {
            using var http = host.CreateClient();
            var row = await Eventually(http, "stubborn", r => r.State() == "running" && r.Transient() is null);
            Assert.Equal("running", row.GetProperty("desired").GetString());
            await HiveInstance.Until(() => SleepersOf("stubborn").Count == 1, what: "stubborn to run once");
            await host.KillAsync(); // quicker than a stop, which would wait out the agent's 60 s grace

            await ProcessTable.UntilGoneAsync(SleepersOf("stubborn"), TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task A_host_killed_around_an_approval_leaves_it_pending_or_applied_never_approved_with_nothing_behind_it()
    {
        for (var round = 0; round < 6; round++)
        {
            var name = $"approved-{round}";
            await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
            {
                using var http = host.CreateClient();
                await using var manager = await host.ConnectAsync("manager");
                var spawn = await manager.CallAsync(new { op = "request_spawn", name, purpose = "x", command = new[] { "/bin/sleep", "1000" }, driver = "process" });
                var id = spawn.GetProperty("approval_id").GetInt64();
                var destroy = round > 0
                    ? (await manager.CallAsync(new { op = "request_destroy", name = $"approved-{round - 1}", reason = "replaced" })).GetProperty("approval_id").GetInt64()
                    : 0;

                var approving = http.PostAsync($"/api/approvals/{id}/approve", null);
                var destroying = destroy > 0 ? http.PostAsync($"/api/approvals/{destroy}/approve", null) : Task.FromResult<HttpResponseMessage>(null!);
                // The kill lands at a different point of the decision each round: before it, between its commit and the
                // spawn, or after everything.
                await Task.Delay(round * 4);
                await host.KillAsync();
                try { await Task.WhenAll(approving, destroying); } catch (HttpRequestException) { } catch (TaskCanceledException) { }
            }

            await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
            {
                using var http = host.CreateClient();
                var approvals = JsonDocument.Parse(await http.GetStringAsync("/api/approvals?status=all")).RootElement.EnumerateArray()
                    .Select(a => (Id: a.GetProperty("id").GetInt64(), Agent: a.GetProperty("agent").GetString(), Kind: a.GetProperty("kind").GetString(),
                        Status: a.GetProperty("status").GetString()))
                    .ToList();
                var spawn = approvals.Single(a => a.Agent == name && a.Kind == "spawn");
                if (spawn.Status == "approved")
                {
                    await Eventually(http, name, row => row.State() == "running" && row.Transient() is null);
                }
                else
                {
                    Assert.Equal("pending", spawn.Status);
                    Assert.DoesNotContain(JsonDocument.Parse(await http.GetStringAsync("/api/agents")).RootElement.EnumerateArray(),
                        a => a.GetProperty("name").GetString() == name);
                    using var approve = await http.PostAsync($"/api/approvals/{spawn.Id}/approve", null); // for the next round's destroy
                    Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
                    await Eventually(http, name, row => row.State() == "running");
                }
                if (approvals.SingleOrDefault(a => a.Kind == "destroy" && a.Agent == $"approved-{round - 1}") is { Status: "approved" })
                    await HiveInstance.Until(() => !JsonDocument.Parse(http.GetStringAsync("/api/agents").Result).RootElement.EnumerateArray()
                        .Any(a => a.GetProperty("name").GetString() == $"approved-{round - 1}"), TimeSpan.FromSeconds(15), "the approved destroy to be finished");
                await host.KillAsync();
            }
        }
    }

    private static readonly string[] Args = ["--Hive:Containers:RestartBackoffSeconds", "0.05", "--Hive:Containers:StopGraceSeconds", "2"];

    /// <summary>The sample agent's processes (the dotnet program itself, not its supervisor) that belong to this test's hive.</summary>
    /// <summary>The agent's own process (not the <c>hivectl port</c> a sealed agent runs behind, whose arguments name it too).</summary>
    private IReadOnlyList<int> AgentProcessesNamed(string name) =>
        ProcessTable.Find("dotnet", "EchoAgent.dll")
            .Where(pid => BelongsHere(pid, name) && !ProcessTable.CommandLine(pid).Contains("hivectl.dll port ", StringComparison.Ordinal)).ToList();

    private IReadOnlyList<int> SleepersOf(string name) => ProcessTable.Find("sleep", "1000").Where(pid => BelongsHere(pid, name)).ToList();

    /// <summary>
    /// An agent of this test's hive: its environment names it, and it or one of its parents names this data dir (the
    /// process driver's socket path, or the sandbox's binds on bwrap's command line), so other tests' hives never count.
    /// </summary>
    private bool BelongsHere(int pid, string name) =>
        ProcessTable.Environment(pid)?.GetValueOrDefault("HIVE_AGENT") == name
        && ProcessTable.SelfAndAncestors(pid).Any(p =>
            ProcessTable.CommandLine(p).Contains(_dataDir, StringComparison.Ordinal)
            || ProcessTable.Environment(p)?.GetValueOrDefault("HIVE_SOCKET")?.StartsWith(_dataDir, StringComparison.Ordinal) == true);

    private static async Task<JsonElement> RowOfAsync(HttpClient http, string name) =>
        JsonDocument.Parse(await http.GetStringAsync("/api/agents")).RootElement.EnumerateArray().Single(a => a.GetProperty("name").GetString() == name).Clone();

    private static async Task<JsonElement> Eventually(HttpClient http, string name, Func<JsonElement, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var agents = JsonDocument.Parse(await http.GetStringAsync("/api/agents")).RootElement;
            var row = agents.EnumerateArray().FirstOrDefault(a => a.GetProperty("name").GetString() == name);
            if (row.ValueKind == JsonValueKind.Object && match(row)) return row.Clone();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{name} never matched; last: {row}");
            await Task.Delay(20);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var pid in ProcessTable.Find("sleep", "4244")) ProcessTable.Kill(pid); // only if a test failed
        // The last life was killed: its agents' (empty) cgroups are left for a next start that will not come.
        await new Hive.Features.Containers.Runtime.AgentCgroups(Path.GetFullPath(_dataDir), "/sys/fs/cgroup",
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Hive.Features.Containers.Runtime.AgentCgroups>.Instance).SweepLeftoversAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
