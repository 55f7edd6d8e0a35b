using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using Hive.Contracts.Reminders;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>Stop, start, restart, destroy, purge and respawn, as the operator drives them over HTTP.</summary>
public sealed class LifecycleTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task Stop_leaves_no_process_in_its_group_and_start_brings_it_back(string driver)
    {
        var name = $"stopper-{driver[..4]}";
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var row = await CreateAsync(_hive.Http, SampleAgent.Body(name, driver));
            var pid = row.Pid()!.Value;
            var members = ProcessTable.Family(pid);
            // Seen once in a full run (empty at once): the message keeps what would say why.
            if (members.Count == 0)
                Assert.Fail($"{name}'s group {pid} is empty right after its create; its row now: {await RowAsync(_hive, name)}; "
                            + $"its log: {await _hive.Http.GetStringAsync($"/api/agents/{name}/logs?tail=40")}");

            var (status, stopped) = await PostAsync(_hive.Http, $"/api/agents/{name}/stop");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("stopped", stopped.State());
            Assert.Equal("stopped", stopped.GetProperty("desired").GetString());
            Assert.Null(stopped.Pid());
            Assert.Null(stopped.Transient());
            Assert.Empty(ProcessTable.Family(pid));
            Assert.All(members, m => Assert.False(ProcessTable.IsAlive(m)));
            await RecvFromHiveAsync(manager, "stopped", name);

            var (again, started) = await PostAsync(_hive.Http, $"/api/agents/{name}/start");
            Assert.Equal(HttpStatusCode.OK, again);
            Assert.Equal("running", started.State());
            Assert.NotEqual(pid, started.Pid());

            var (restartStatus, restarted) = await PostAsync(_hive.Http, $"/api/agents/{name}/restart");
            Assert.Equal(HttpStatusCode.OK, restartStatus);
            Assert.Equal("running", restarted.State());
            Assert.NotEqual(started.Pid(), restarted.Pid());
            await ProcessTable.UntilGoneAsync([started.Pid()!.Value]);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("process", 4242)]
    [InlineData("bubblewrap", 4243)]
    public async Task A_child_that_left_the_agents_process_group_is_gone_once_the_agent_is_stopped(string driver, int marker)
    {
        // setsid puts the child in a session and group of its own, out of reach of a signal to the agent's group: the
        // process driver holds it in the agent's cgroup, bubblewrap in the sandbox's pid namespace.
        var name = $"escaper-{driver[..4]}";
        try
        {
            var row = await CreateAsync(_hive.Http, Shell(name, driver, $"setsid sleep {marker} &"));
            var escaped = 0;
            await HiveInstance.Until(() => ProcessTable.Find("sleep", $"{marker}") is [var pid] && (escaped = pid) > 0, what: "the escaped child");
            Assert.DoesNotContain(escaped, ProcessTable.GroupMembers(row.Pid()!.Value));

            var (status, stopped) = await PostAsync(_hive.Http, $"/api/agents/{name}/stop");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("stopped", stopped.State());
            Assert.False(ProcessTable.IsAlive(escaped), $"the escaped child {escaped} outlived its stopped agent");
        }
        finally
        {
            await DestroyAsync(_hive, name);
            foreach (var pid in ProcessTable.Find("sleep", $"{marker}")) ProcessTable.Kill(pid);
        }
    }

    [Fact]
    public async Task An_agent_that_ignores_sigterm_is_killed_after_the_grace_period_and_another_action_meanwhile_is_a_409()
    {
        const string name = "stubborn";
        try
        {
            var row = await CreateAsync(_hive.Http, Shell(name, "process", "trap '' TERM; touch ready"));
            await HiveInstance.Until(() => File.Exists(Path.Combine(_hive.DataDir, "agents", name, "state", "ready")), what: "the trap to be set");
            var stopping = PostAsync(_hive.Http, $"/api/agents/{name}/stop");
            await HiveInstance.Until(() => RowAsync(_hive, name).Result?.Transient() == "stopping", what: "the stopping transient");

            var (busy, problem) = await PostAsync(_hive.Http, $"/api/agents/{name}/start");
            Assert.Equal(HttpStatusCode.Conflict, busy);
            Assert.Contains("stopping", Problem.Of(problem).Detail);

            var (status, stopped) = await stopping;
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(9, stopped.GetProperty("last_exit").GetProperty("signal").GetInt32());
            Assert.Empty(ProcessTable.Family(row.Pid()!.Value));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task Destroy_leaves_a_tombstone_closes_the_socket_and_refuses_messages_and_reminders_to_it()
    {
        const string name = "doomed";
        await using var events = await _hive.OpenEventsAsync();
        await using var manager = await _hive.ConnectAsync("manager");
        var row = await CreateAsync(_hive.Http, Shell(name, "process", "echo kept > note.txt"));
        var stateDir = Path.Combine(_hive.DataDir, "agents", name, "state");
        await HiveInstance.Until(() => File.Exists(Path.Combine(stateDir, "note.txt")));
        // Due after the destroy, even on a busy machine (at 1 s it once came due first under load 17, and was delivered).
        await using (var self = await _hive.ConnectAsync(name))
            await self.CallAsync(ReminderVerbs.Remind, new RemindArgs("later", 5, null, null, null, null, null, null));

        using (var response = await _hive.Http.DeleteAsync($"/api/agents/{name}")) Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        await events.WaitForPayloadAsync<AgentRemovedPayload>("container_removed", e => e.Name == name);
        var tombstones = await events.WaitForPayloadAsync<TombstonesChangedPayload>("tombstones_changed");
        var tombstone = tombstones.Tombstones.Single(t => t.Name == name);
        Assert.True(tombstone.Bytes > 0);
        Assert.Empty(ProcessTable.Family(row.Pid()!.Value));
        Assert.False(File.Exists(Path.Combine(_hive.DataDir, "run", name + ".sock")));
        Assert.True(File.Exists(Path.Combine(stateDir, "note.txt")));
        Assert.Null(await RowAsync(_hive, name));
        Assert.Contains(await TombstonesAsync(), t => t.Name == name);
        Assert.Contains((await _hive.GetJsonAsync("/api/state")).GetProperty("tombstones").Deserialize<List<TombstoneView>>(HiveJson.Options)!, t => t.Name == name);
        await RecvFromHiveAsync(manager, "destroyed", name);

        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body = "anyone?" }))
            Assert.Equal(HttpStatusCode.NotFound, sent.StatusCode);
        var reminder = await events.WaitForPayloadAsync<ReminderFailedPayload>("reminder_failed", e => e.Agent == name);
        Assert.Contains(name, reminder.LastError);

        // Purge: the dir goes, what the stage made for the name goes (a root host stages each run), the tombstone goes, a second
        // purge is a 404.
        var stage = Path.Combine(_hive.DataDir, "stage");
        string[] Staged() => Directory.Exists(stage) ? Directory.GetFileSystemEntries(stage, name + ".*").Select(entry => entry[(stage.Length + 1)..]).ToArray() : [];
        if (Environment.IsPrivilegedProcess)
        {
            Assert.Contains(name + ".view", Staged());
            Assert.Single(Staged(), entry => entry.EndsWith(".fstab", StringComparison.Ordinal));
        }
        using (var purged = await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) Assert.Equal(HttpStatusCode.NoContent, purged.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_hive.DataDir, "agents", name)));
        Assert.Empty(Staged());
        Assert.DoesNotContain(await TombstonesAsync(), t => t.Name == name);
        using (var again = await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        foreach (var reminderRow in (await _hive.GetAsync<List<ReminderView>>("/api/reminders")).Where(r => r.Agent == name))
            using (await _hive.Http.DeleteAsync($"/api/reminders/{reminderRow.Id}")) { }
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task Spawning_a_tombstoned_name_again_reuses_its_state_dir(string driver)
    {
        var name = $"phoenix-{driver[..4]}";
        try
        {
            await CreateAsync(_hive.Http, Shell(name, driver, "echo from-the-first-life > memory.txt"));
            var stateDir = Path.Combine(_hive.DataDir, "agents", name, "state");
            // The content, not the file: the shell creates it empty before echo writes, and a destroy in between loses it.
            await HiveInstance.Until(() => File.Exists(Path.Combine(stateDir, "memory.txt"))
                && File.ReadAllText(Path.Combine(stateDir, "memory.txt")).Trim() == "from-the-first-life");
            await DestroyAsync(_hive, name);

            await CreateAsync(_hive.Http, Shell(name, driver, "cat memory.txt > seen.txt"));
            await HiveInstance.Until(() => File.Exists(Path.Combine(stateDir, "seen.txt")) && new FileInfo(Path.Combine(stateDir, "seen.txt")).Length > 0);
            Assert.Equal("from-the-first-life", File.ReadAllText(Path.Combine(stateDir, "seen.txt")).Trim());
            Assert.DoesNotContain(await TombstonesAsync(), t => t.Name == name);
        }
        finally
        {
            await DestroyAsync(_hive, name);
            using (await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) { }
        }
    }

    [Fact]
    public async Task Purge_deletes_nothing_outside_through_a_symlinked_state_dir()
    {
        const string name = "linker";
        var outside = Path.Combine(Path.GetTempPath(), "hive-outside-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "precious.txt"), "do not delete");
        try
        {
            await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            await DestroyAsync(_hive, name);
            // The state dir is swapped for a link to elsewhere (an agent of the process driver could do it).
            var stateDir = Path.Combine(_hive.DataDir, "agents", name, "state");
            Directory.Delete(stateDir, recursive: true);
            Directory.CreateSymbolicLink(stateDir, outside);

            using (var purged = await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) Assert.Equal(HttpStatusCode.NoContent, purged.StatusCode);
            Assert.False(Directory.Exists(Path.Combine(_hive.DataDir, "agents", name)));
            Assert.Equal("do not delete", await File.ReadAllTextAsync(Path.Combine(outside, "precious.txt")));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Purge_refuses_an_agent_dir_that_is_itself_a_symlink_and_deletes_nothing()
    {
        const string name = "swapped";
        var outside = Path.Combine(Path.GetTempPath(), "hive-outside-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(outside, "state"));
        await File.WriteAllTextAsync(Path.Combine(outside, "state", "precious.txt"), "do not delete");
        var agentDir = Path.Combine(_hive.DataDir, "agents", name);
        try
        {
            await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            await DestroyAsync(_hive, name);
            Directory.Move(agentDir, agentDir + ".moved");
            Directory.CreateSymbolicLink(agentDir, outside);

            var (status, problem) = await PostDeleteAsync($"/api/tombstones/{name}");
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Contains("not a real directory", problem);
            Assert.Equal("do not delete", await File.ReadAllTextAsync(Path.Combine(outside, "state", "precious.txt")));
            Assert.Contains(await TombstonesAsync(), t => t.Name == name);
        }
        finally
        {
            File.Delete(agentDir);
            Directory.Move(agentDir + ".moved", agentDir);
            using (await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) { }
            Directory.Delete(outside, recursive: true);
        }
    }

    private async Task<(HttpStatusCode, string)> PostDeleteAsync(string path)
    {
        using var response = await _hive.Http.DeleteAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task<List<TombstoneView>> TombstonesAsync() => _hive.GetAsync<List<TombstoneView>>("/api/tombstones");
}
