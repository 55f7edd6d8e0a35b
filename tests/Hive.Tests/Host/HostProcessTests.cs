namespace Hive.Tests.Host;

/// <summary>
/// The built host as an operator runs it: `dotnet Hive.Host.dll ARGS` from any working directory. Child processes of
/// their own: one is stopped with SIGTERM, one killed with SIGKILL and restarted.
/// </summary>
public sealed class HostProcessTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-proc-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Runs_from_the_root_directory_with_plain_configuration_arguments()
    {
        await using var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"], workingDirectory: "/");

        await using var alice = await host.ConnectAsync("alice");
        Assert.Equal("alice", (await alice.CallAsync(new { op = "whoami" })).GetProperty("name").GetString());

        using var http = host.CreateClient();
        var state = await http.GetFromJsonAsync<JsonElement>("/api/state");
        Assert.Equal(["manager", "alice", "bob"], state.GetProperty("agents").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        using var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode); // the page is found beside the assembly, not in the working dir
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.True(File.Exists(Path.Combine(_dataDir, "hive.db")));
        Assert.False(Directory.Exists("/.hive"));

        await host.TerminateAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, host.ExitCode);
        Assert.False(File.Exists(Path.Combine(_dataDir, "run", "alice.sock"))); // a graceful stop removes its sockets
    }

    [Fact]
    public async Task Acknowledged_messages_survive_a_SIGKILL_and_are_delivered_once_after_restart()
    {
        var acknowledged = new List<long>();
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]))
        {
            await using var alice = await host.ConnectAsync("alice");
            await using var bob = await host.ConnectAsync("bob");
            for (var i = 0; i < 50; i++) acknowledged.Add(await alice.SendAsync("bob", $"crash {i}"));
            // Deliver the first ten before the crash: they must not come back.
            for (var i = 0; i < 10; i++) Assert.Equal(acknowledged[i], (await bob.RecvAsync())!.Value.GetProperty("id").GetInt64());
            await host.KillAsync();
        }

        await using var restarted = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]);
        await using var bobAgain = await restarted.ConnectAsync("bob");
        var after = new List<long>();
        while (await bobAgain.RecvAsync() is { } message) after.Add(message.GetProperty("id").GetInt64());
        Assert.Equal(acknowledged.Skip(10), after);
    }

    [Fact]
    public async Task A_killed_hosts_agents_leave_no_cgroup_once_the_test_is_done_with_it()
    {
        string? cgroup;
        await using (var host = await HostProcess.StartAsync(_dataDir, []))
        {
            using var http = host.CreateClient();
            using (var created = await http.PostAsJsonAsync("/api/agents", new { name = "alice", driver = "process", command = new[] { "/bin/sleep", "1000" } }))
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var pid = HiveInstance.QueryDb<long>(_dataDir, "SELECT pid FROM agents WHERE name = 'alice'");
            // Its pids cgroup (v1) or its unified one (v2); none where the host may not use cgroups here.
            cgroup = File.ReadAllLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3))
                .Where(p => p[1] == "pids" || p[0] == "0").Select(p => p[1] == "pids" ? $"/sys/fs/cgroup/pids{p[2]}" : $"/sys/fs/cgroup{p[2]}")
                .FirstOrDefault(dir => dir.Contains("/hive-", StringComparison.Ordinal));
            await host.KillAsync();
        }
        if (cgroup is null) return; // no cgroup of its own to leave
        Assert.False(Directory.Exists(cgroup), $"{cgroup} is left");
        Assert.False(Directory.Exists(Path.GetDirectoryName(cgroup)), "the hive's own cgroup is left");
    }
}
