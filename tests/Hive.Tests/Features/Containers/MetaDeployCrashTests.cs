using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The host as a child process, SIGKILLed in the middle of an approved configuration deploy, at a named step (the test
/// hook <c>Hive:Meta:PauseDeployAt</c> parks the deploy there and says so; no guessed moment): the next host finishes
/// the deploy, so the approval ends applied, with the ref of what really happened and the agent running that.
/// </summary>
public sealed class MetaDeployCrashTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-test-" + Guid.NewGuid().ToString("N")[..12]);

    private static readonly string[] Args = ["--Hive:Containers:RestartBackoffSeconds", "0.05", "--Hive:Containers:StopGraceSeconds", "2"];

    [Theory]
    [InlineData("approved")]   // decided and committed in the database; nothing in the meta repo yet
    [InlineData("committed")]  // main has the new file; the agent still runs the old configuration
    [InlineData("started")]    // the agent runs the new configuration; no ref, no applied_at
    [InlineData("marked")]     // refs/deployed written; no applied_at
    public async Task A_host_killed_during_an_approved_deploy_finishes_it_at_its_next_start(string step)
    {
        const string name = "redeployed";
        long id;
        string mainBefore;
        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: [.. Args, "--Hive:Meta:PauseDeployAt", step]))
        {
            using var http = host.CreateClient();
            await CreateAsync(http, Shell(name, "process", "echo first > life.txt"));
            mainBefore = MetaGit.In(_dataDir, "rev-parse", "main").Trim();
            await using var manager = await host.ConnectAsync("manager");
            id = (await manager.CallAsync(new
            {
                op = "propose_config", name,
                config = new { command = new[] { "/bin/sh", "-c", "echo second > life.txt; exec sleep 1000" }, driver = "process", purpose = "the second life" },
            })).GetProperty("approval_id").GetInt64();
            var (approved, body) = await PostAsync(http, $"/api/approvals/{id}/approve");
            Assert.True(approved == HttpStatusCode.OK, body.ToString());
            await HiveInstance.Until(() => host.Output.Contains($"approval {id} paused at {step}", StringComparison.Ordinal), TimeSpan.FromSeconds(30), $"the deploy to reach {step}");
            await host.KillAsync();
        }

        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
        {
            using var http = host.CreateClient();
            var approval = await UntilAppliedAsync(http, id);
            Assert.Equal("approved", approval.GetProperty("status").GetString());
            Assert.Contains($"refs/deployed/{id}", MetaGit.Refs(_dataDir, "deployed"));
            Assert.DoesNotContain($"refs/failed/{id}", MetaGit.Refs(_dataDir, "failed"));
            Assert.Contains($"refs/approved/{id}", MetaGit.Refs(_dataDir, "approved"));
            // One commit for the change, whichever life made it.
            Assert.Equal(mainBefore, MetaGit.In(_dataDir, "rev-parse", "main~1").Trim());
            Assert.Contains("the second life", MetaGit.In(_dataDir, "show", $"main:agents/{name}.json"));

            var row = await UntilRowAsync(http, name, r => r.State() == "running" && r.Transient() is null);
            Assert.Equal("the second life", row.GetProperty("purpose").GetString());
            var life = Path.Combine(_dataDir, "agents", name, "state", "life.txt"); // not there until a life writes it
            await HiveInstance.Until(() => File.Exists(life) && File.ReadAllText(life).Trim() == "second",
                what: "the agent to run its new configuration");
            await host.KillAsync();
        }
    }

    [Fact]
    public async Task A_deploy_cut_short_whose_configuration_no_longer_starts_ends_failed_with_the_old_configuration_back()
    {
        const string name = "reverted";
        var script = Path.Combine(_dataDir + "-bin", "agent.sh");
        Directory.CreateDirectory(Path.GetDirectoryName(script)!);
        await File.WriteAllTextAsync(script, "#!/bin/sh\nexec sleep 1000\n");
        // Readable and runnable by others: a root host runs the agent as a user of its own.
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead
            | UnixFileMode.OtherExecute);
        long id;
        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: [.. Args, "--Hive:Meta:PauseDeployAt", "committed"]))
        {
            using var http = host.CreateClient();
            await CreateAsync(http, Shell(name, "process", "echo old > life.txt"));
            await using var manager = await host.ConnectAsync("manager");
            id = (await manager.CallAsync(new { op = "propose_config", name, config = new { command = new[] { script }, driver = "process" } }))
                .GetProperty("approval_id").GetInt64();
            var (approved, _) = await PostAsync(http, $"/api/approvals/{id}/approve");
            Assert.Equal(HttpStatusCode.OK, approved);
            await HiveInstance.Until(() => host.Output.Contains($"approval {id} paused at committed", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the commit");
            await host.KillAsync();
        }
        Assert.Contains(script, MetaGit.In(_dataDir, "show", $"main:agents/{name}.json")); // the last life committed it
        File.Delete(script); // and now it cannot start

        await using (var host = await HostProcess.StartAsync(_dataDir, [], extraArgs: Args))
        {
            using var http = host.CreateClient();
            await UntilAppliedAsync(http, id);
            Assert.Contains($"refs/failed/{id}", MetaGit.Refs(_dataDir, "failed"));
            Assert.DoesNotContain($"refs/deployed/{id}", MetaGit.Refs(_dataDir, "deployed"));
            Assert.Contains("does not exist", MetaGit.In(_dataDir, "log", "-1", "--format=%B", $"refs/failed/{id}"));
            // The old configuration is back on main (committed back: the last life's commit is history now) and running.
            Assert.DoesNotContain(script, MetaGit.In(_dataDir, "show", $"main:agents/{name}.json"));
            var row = await UntilRowAsync(http, name, r => r.State() == "running" && r.Transient() is null);
            Assert.Equal("/bin/sh", row.GetProperty("command")[0].GetString());
            await using var manager = await host.ConnectAsync("manager");
            var told = await RecvFromHiveAsync(manager, "config_failed", $"approval {id}:");
            Assert.Equal(id, told.GetProperty("approval_id").GetInt64());
            await host.KillAsync();
        }
    }

    private static async Task<JsonElement> UntilAppliedAsync(HttpClient http, long id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var approval = JsonDocument.Parse(await http.GetStringAsync("/api/approvals?status=all")).RootElement.EnumerateArray()
                .Single(a => a.GetProperty("id").GetInt64() == id).Clone();
            if (approval.GetProperty("applied_at").ValueKind == JsonValueKind.String) return approval;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"approval {id} was never applied: {approval}");
            await Task.Delay(20);
        }
    }

    private static async Task<JsonElement> UntilRowAsync(HttpClient http, string name, Func<JsonElement, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var row = JsonDocument.Parse(await http.GetStringAsync("/api/agents")).RootElement.EnumerateArray()
                .FirstOrDefault(a => a.GetProperty("name").GetString() == name);
            if (row.ValueKind == JsonValueKind.Object && match(row)) return row.Clone();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{name} never matched; last: {row}");
            await Task.Delay(20);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // The last life was killed: its agents' (empty) cgroups are left for a next start that will not come.
        await new Hive.Features.Containers.Runtime.AgentCgroups(Path.GetFullPath(_dataDir), "/sys/fs/cgroup",
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Hive.Features.Containers.Runtime.AgentCgroups>.Instance).SweepLeftoversAsync();
        await TestDirectories.DeleteAsync(_dataDir);
        await TestDirectories.DeleteAsync(_dataDir + "-bin");
    }
}
