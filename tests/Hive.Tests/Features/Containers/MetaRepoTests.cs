using System.Diagnostics;
using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using Hive.Features.Containers;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>Agents' configuration lives in the meta git repo; a proposal is pinned, and approving it rebuilds exactly its agent.</summary>
public sealed class MetaRepoTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private string Git(params string[] args)
    {
        var info = new ProcessStartInfo("git") { WorkingDirectory = Path.Combine(_hive.DataDir, "meta"), RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var git = Process.Start(info)!;
        var output = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        return git.ExitCode == 0 ? output : throw new InvalidOperationException($"git {string.Join(' ', args)}: {git.StandardError.ReadToEnd()}");
    }

    [Fact]
    public async Task Spawn_and_destroy_are_commits_of_the_agents_file()
    {
        const string name = "recorded";
        await CreateAsync(_hive.Http, Shell(name, "process", "true"));
        Assert.Equal("/bin/sh", MetaConfig(_hive, name).Command![0]);
        Assert.Contains($"{name}: spawned by the operator", Git("log", "--format=%s %an", "main"));
        Assert.Contains("hive", Git("log", "-1", "--format=%an", "main"));

        await DestroyAsync(_hive, name);
        Assert.False(File.Exists(Path.Combine(_hive.DataDir, "meta", "agents", name + ".json")));
        Assert.Contains($"{name}: destroyed by the operator", Git("log", "--format=%s", "main"));
        using (await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) { }
    }

    [Fact]
    public async Task Creates_in_flight_at_once_each_have_their_file_on_main_by_their_201()
    {
        // Their commits may be shared (group commit), never skipped or late: each file is on main when its 201 comes.
        var names = Enumerable.Range(0, 6).Select(i => $"together-{i}").ToArray();
        try
        {
            await Task.WhenAll(names.Select(async name =>
            {
                await CreateAsync(_hive.Http, Shell(name, "process", "true"));
                Assert.Equal("/bin/sh", MetaConfig(_hive, name).Command![0]);
            }));
            var log = Git("log", "--format=%s", "main");
            foreach (var name in names) Assert.Contains($"{name}: spawned by the operator", log);
        }
        finally
        {
            foreach (var name in names)
            {
                await DestroyAsync(_hive, name);
                using (await _hive.Http.DeleteAsync($"/api/tombstones/{name}")) { }
            }
        }
        foreach (var name in names) Assert.False(File.Exists(Path.Combine(_hive.DataDir, "meta", "agents", name + ".json")));
    }

    [Fact]
    public async Task An_approved_proposal_is_one_commit_and_rebuilds_exactly_its_agent()
    {
        string[] names = ["target", "bystander"];
        await using var events = await _hive.OpenEventsAsync();
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var rows = new Dictionary<string, JsonElement>();
            foreach (var name in names) rows[name] = await CreateAsync(_hive.Http, Shell(name, "process", "echo first > life.txt"));
            var mainBefore = Git("rev-parse", "main").Trim();

            var id = (await manager.CallAsync(ManagerVerbs.ProposeConfig, new ProposeConfigArgs("target",
                new AgentConfig(["/bin/sh", "-c", "echo second > life.txt; exec sleep 1000"], "process", null, "the second life", null, null)))).ApprovalId;
            var added = (await events.WaitForPayloadAsync<ApprovalPayload>("approval_added", e => e.Approval.Id == id)).Approval;
            // A proposal's payload has no record: its diff and commit are read from the raw JSON.
            var payload = added.Payload;
            Assert.Equal("config_commit", added.Kind);
            Assert.Contains("+", payload.GetProperty("diff").GetString());
            Assert.Contains("second", payload.GetProperty("diff").GetString());
            Assert.Equal(payload.GetProperty("commit").GetString(), Git("rev-parse", $"refs/proposal/{id}").Trim());
            Assert.Equal(mainBefore, Git("rev-parse", "main").Trim()); // pinned, not applied

            using (var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", null)) Assert.Equal(HttpStatusCode.OK, approved.StatusCode);

            await NextRowAsync(events, "target", r => r.Transient() == "rebuilding");
            var rebuilt = await NextRowAsync(events, "target", r => r.State() == "running" && r.Transient() is null);
            Assert.Equal("the second life", rebuilt.GetProperty("purpose").GetString());
            Assert.NotEqual(rows["target"].Pid(), rebuilt.Pid());
            // Not there yet when the first life was replaced before it wrote it (a loaded machine).
            var life = Path.Combine(_hive.DataDir, "agents", "target", "state", "life.txt");
            await HiveInstance.Until(() => File.Exists(life) && File.ReadAllText(life).Trim() == "second", what: "the second life's file");
            Assert.Equal(rows["bystander"].Pid(), (await RowAsync(_hive, "bystander"))!.Value.Pid());

            // One commit on main, its refs: approved, then deployed.
            Assert.Equal(mainBefore, Git("rev-parse", "main~1").Trim());
            Assert.Contains("second", Git("show", "main:agents/target.json"));
            await HiveInstance.Until(() => Git("for-each-ref", "--format=%(refname)", $"refs/deployed/").Contains($"refs/deployed/{id}"), what: "the deployed ref");
            Assert.Equal(Git("rev-parse", $"refs/proposal/{id}").Trim(), Git("rev-parse", $"refs/approved/{id}").Trim());
        }
        finally
        {
            foreach (var name in names) await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_configuration_that_fails_to_start_leaves_the_agent_and_main_as_they_were()
    {
        const string name = "steady";
        var script = Path.Combine(Path.GetTempPath(), "hive-vanishing-" + Guid.NewGuid().ToString("N")[..8]);
        await File.WriteAllTextAsync(script, "#!/bin/sh\nexec sleep 1000\n");
        // Readable and runnable by others: a root host runs the agent as a user of its own.
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead
            | UnixFileMode.OtherExecute);
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var row = await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            var mainBefore = Git("rev-parse", "main").Trim();
            var id = (await manager.CallAsync(ManagerVerbs.ProposeConfig,
                new ProposeConfigArgs(name, new AgentConfig([script], "process", null, null, null, null)))).ApprovalId;
            File.Delete(script); // valid when proposed, gone when applied

            using (var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", null)) Assert.Equal(HttpStatusCode.OK, approved.StatusCode);

            var told = await MessageFromHiveAsync(manager, "config_failed", name);
            Assert.Contains("does not exist", told.Body);
            Assert.Equal(mainBefore, Git("rev-parse", "main").Trim());
            Assert.Contains($"refs/failed/{id}", Git("for-each-ref", "--format=%(refname)", "refs/failed/"));
            Assert.Contains("does not exist", Git("log", "-1", "--format=%B", $"refs/failed/{id}"));
            var now = (await RowAsync(_hive, name))!.Value;
            Assert.Equal("running", now.State());
            Assert.Equal("/bin/sh", now.GetProperty("command")[0].GetString());
            Assert.NotEqual(row.Pid(), now.Pid());
        }
        finally
        {
            await DestroyAsync(_hive, name);
            File.Delete(script);
        }
    }

    [Fact]
    public async Task A_denied_proposal_changes_nothing_and_is_recorded_with_the_note()
    {
        const string name = "unchanged";
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var row = await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            var mainBefore = Git("rev-parse", "main").Trim();
            var id = (await manager.CallAsync(ManagerVerbs.ProposeConfig,
                new ProposeConfigArgs(name, new AgentConfig(["/bin/sleep", "2000"], null, null, null, null, null)))).ApprovalId;

            using (var denied = await _hive.Http.PostAsync($"/api/approvals/{id}/deny",
                       new StringContent("""{"reason":"keep it as it is"}""", System.Text.Encoding.UTF8, "application/json")))
                Assert.Equal(HttpStatusCode.OK, denied.StatusCode);

            await HiveInstance.Until(() => Git("for-each-ref", "--format=%(refname)", "refs/denied/").Contains($"refs/denied/{id}"), what: "the denied ref");
            Assert.Contains("keep it as it is", Git("log", "-1", "--format=%B", $"refs/denied/{id}"));
            Assert.Equal(mainBefore, Git("rev-parse", "main").Trim());
            Assert.Equal(row.Pid(), (await RowAsync(_hive, name))!.Value.Pid());
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task Proposals_that_cannot_run_or_aim_wrong_are_refused_and_record_nothing()
    {
        await using var manager = await _hive.ConnectAsync("manager");
        var before = (await ApprovalsAsync(_hive, all: true)).Count;
        static AgentConfig Runs(string program) => new([program], null, null, null, null, null);
        foreach (var bad in new ProposeConfigArgs[] { new("manager", Runs("/bin/true")), new("nobody", Runs("/bin/true")), new("x", null) })
            await manager.RefusalOfAsync(ManagerVerbs.ProposeConfig, bad);
        const string name = "picky";
        try
        {
            await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            var reply = await manager.RefusalOfAsync(ManagerVerbs.ProposeConfig, new ProposeConfigArgs(name, Runs("/no/such/program")));
            Assert.Equal("bad_request", reply.Code);
            var other = await _hive.NewAgentAsync("not-manager");
            await using var client = await _hive.ConnectAsync(other);
            Assert.Equal("forbidden", (await client.RefusalOfAsync(ManagerVerbs.ProposeConfig, new ProposeConfigArgs(name, Runs("/bin/true")))).Code);
            Assert.Equal(before, (await ApprovalsAsync(_hive, all: true)).Count);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_meta_update_with_a_changed_input_rebuilds_exactly_the_agents_that_use_it()
    {
        var source = Path.Combine(Path.GetTempPath(), "hive-input-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(source);
        await File.WriteAllTextAsync(Path.Combine(source, "prompt.md"), "be kind");
        string[] names = ["uses-lib", "ignores-lib"];
        await using var events = await _hive.OpenEventsAsync();
        try
        {
            using (var put = await _hive.Http.PutAsync("/api/meta/inputs/lib", new StringContent($$"""{"source":"{{source}}"}""", System.Text.Encoding.UTF8, "application/json")))
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var pinned = await events.WaitForPayloadAsync<MetaInputsChangedPayload>("meta_inputs_changed");
            var firstPin = pinned.Inputs.Single(i => i.Name == "lib").Pin;
            Assert.StartsWith("sha256:", firstPin);

            var user = await CreateAsync(_hive.Http, new { name = names[0], command = new[] { "/bin/sleep", "1000" }, driver = "process", inputs = new[] { "lib" } });
            var bystander = await CreateAsync(_hive.Http, new { name = names[1], command = new[] { "/bin/sleep", "1000" }, driver = "process" });

            // Nothing moved: nothing happens.
            var idle = JsonSerializer.Deserialize<UpdateMetaInputs.Result>(await (await _hive.Http.PostAsync("/api/meta/update", null)).Content.ReadAsStringAsync(), HiveJson.Options)!;
            Assert.Empty(idle.Changed);

            await File.WriteAllTextAsync(Path.Combine(source, "prompt.md"), "be very kind");
            using var updated = await _hive.Http.PostAsync("/api/meta/update", null);
            var result = JsonSerializer.Deserialize<UpdateMetaInputs.Result>(await updated.Content.ReadAsStringAsync(), HiveJson.Options)!;
            Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
            Assert.Equal(["lib"], result.Changed);
            Assert.Equal([names[0]], result.Rebuilt);

            var changedEvent = await events.WaitForPayloadAsync<MetaInputsChangedPayload>("meta_inputs_changed");
            Assert.NotEqual(firstPin, changedEvent.Inputs[0].Pin);
            Assert.NotEqual(user.Pid(), (await RowAsync(_hive, names[0]))!.Value.Pid());
            Assert.Equal(bystander.Pid(), (await RowAsync(_hive, names[1]))!.Value.Pid());
            Assert.StartsWith("meta-update: lib → sha256:", Git("log", "-1", "--format=%s", "main"));
            var meta = await _hive.GetAsync<MetaView>("/api/meta");
            Assert.Equal(changedEvent.Inputs[0].Pin, meta.Inputs[0].Pin);
            Assert.StartsWith("meta-update", meta.Log[0].Message);
        }
        finally
        {
            foreach (var name in names) await DestroyAsync(_hive, name);
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public async Task A_git_repository_input_is_pinned_to_its_head_commit()
    {
        var repo = Path.Combine(Path.GetTempPath(), "hive-input-repo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(repo);
        void GitIn(params string[] args)
        {
            var info = new ProcessStartInfo("git") { WorkingDirectory = repo, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])["-c", "user.name=t", "-c", "user.email=t@t", .. args]) info.ArgumentList.Add(a);
            using var git = Process.Start(info)!;
            git.WaitForExit();
            Assert.Equal(0, git.ExitCode);
        }
        try
        {
            GitIn("init", "-q", "-b", "main");
            await File.WriteAllTextAsync(Path.Combine(repo, "a.txt"), "1");
            GitIn("add", "-A");
            GitIn("commit", "-q", "-m", "one");
            using (var put = await _hive.Http.PutAsync("/api/meta/inputs/tools", new StringContent($$"""{"source":"{{repo}}"}""", System.Text.Encoding.UTF8, "application/json")))
                Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
            var head = (await _hive.GetAsync<MetaView>("/api/meta")).Inputs.Single(i => i.Name == "tools");
            Assert.Matches("^[0-9a-f]{40}$", head.Pin);
        }
        finally
        {
            Directory.Delete(repo, recursive: true);
            // Leave no input pointing at a deleted path for the other tests' updates.
            var path = Path.Combine(_hive.DataDir, "meta", "inputs.json");
            var remaining = JsonSerializer.Deserialize<List<JsonElement>>(File.ReadAllText(path))!.Where(i => i.GetProperty("name").GetString() != "tools").ToList();
            File.WriteAllText(path, JsonSerializer.Serialize(remaining) + "\n");
            Git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "test: drop the tools input");
        }
    }

    [Fact]
    public async Task A_hand_broken_meta_file_is_refused_on_rebuild_shown_on_the_row_and_the_agent_keeps_running()
    {
        const string name = "broken";
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var row = await CreateAsync(_hive.Http, Shell(name, "process", "true"));
            await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "meta", "agents", name + ".json"), "{ this is not json");
            Git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "someone edits by hand");

            var reply = await manager.RefusalOfAsync(ManagerVerbs.Rebuild, new TargetArgs(name));
            Assert.Equal("conflict", reply.Code);
            Assert.Contains("not a valid configuration", reply.Error);
            var now = (await RowAsync(_hive, name))!.Value;
            Assert.Contains("not a valid configuration", now.GetProperty("config_error").GetString());
            Assert.Equal(row.Pid(), now.Pid());
            Assert.Equal("running", now.State());

            // Fixed by hand: the next rebuild applies it and the row's error goes.
            await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "meta", "agents", name + ".json"),
                """{"command":["/bin/sleep","3000"],"driver":"process"}""");
            Git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "fixed by hand");
            // The reply carries the agent's row, which has no record (it is assembled at run time): read raw.
            var rebuilt = (JsonElement)(await manager.CallAsync(ManagerVerbs.Rebuild, new TargetArgs(name))).Agent;
            Assert.Equal(JsonValueKind.Null, rebuilt.GetProperty("config_error").ValueKind);
            Assert.Equal("3000", rebuilt.GetProperty("command")[1].GetString());
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }
}
