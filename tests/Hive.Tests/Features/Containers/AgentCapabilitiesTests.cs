using Hive.Contracts.Agents;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;
using Hive.Features.Containers;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// What work an agent takes (<c>capabilities</c>): given at create (managed or external), by a spawn or a configuration
/// change; on the row (an empty list when none), in the meta file (left out when none), kept across a restart of the
/// host, and searchable: <c>GET /api/agents?capability=</c> and the manager's <c>list_agents</c>.
/// </summary>
public sealed class AgentCapabilitiesTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task An_agent_created_with_capabilities_shows_them_on_its_row_and_in_its_meta_file()
    {
        try
        {
            var made = await CreateAsync(_hive.Http, new { name = "capable", command = Sleeper, driver = "process", capabilities = new[] { "design", "review" } });
            Assert.Equal(["design", "review"], Names(made));
            Assert.Equal(["design", "review"], Names((await RowAsync(_hive, "capable"))!.Value));
            Assert.Equal(["design", "review"], Names(MetaFile("capable")));
            Assert.Equal(["design", "review"], (await _hive.GetAsync<ReadAgentConfig.View>("/api/agents/capable/config")).Config!.Capabilities);
            var state = await _hive.GetJsonAsync("/api/state");
            Assert.Equal(["design", "review"], Names(state.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == "capable")));

            var plain = await CreateAsync(_hive.Http, new { name = "plain-one", command = Sleeper, driver = "process" });
            Assert.Empty(Names(plain));
            Assert.False(MetaFile("plain-one").TryGetProperty("capabilities", out _)); // a file without any reads as before

            var external = await CreateAsync(_hive.Http, new { name = "outside", driver = "external", capabilities = new[] { "code" } });
            Assert.Equal(["code"], Names(external));
            Assert.Empty(Names((await RowAsync(_hive, "manager"))!.Value));
        }
        finally
        {
            foreach (var name in new[] { "capable", "plain-one", "outside" }) await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task Listing_by_capability_answers_only_the_agents_having_it()
    {
        try
        {
            await CreateAsync(_hive.Http, new { name = "finder-a", command = Sleeper, driver = "process", capabilities = new[] { "code", "finder-review" } });
            await CreateAsync(_hive.Http, new { name = "finder-b", command = Sleeper, driver = "process", capabilities = new[] { "code" } });
            await CreateAsync(_hive.Http, new { name = "finder-c", driver = "external", capabilities = new[] { "finder-review" } });

            var found = await _hive.GetJsonAsync("/api/agents?capability=finder-review");
            Assert.Equal(["finder-a", "finder-c"], found.EnumerateArray().Select(a => a.GetProperty("name").GetString()!).Order());
            Assert.All(found.EnumerateArray(), a => Assert.Contains("finder-review", Names(a)));
            Assert.Empty((await _hive.GetJsonAsync("/api/agents?capability=nobody-has-this")).EnumerateArray());
            Assert.True((await _hive.GetJsonAsync("/api/agents")).GetArrayLength() >= 4); // no filter: every agent, the manager too

            await using var manager = await _hive.ConnectAsync("manager");
            var listed = await manager.CallAsync(ManagerVerbs.ListAgents, new ListAgentsArgs("finder-review"));
            // An agent row has no record (it is assembled at run time): its name is read from the raw JSON.
            Assert.Equal(["finder-a", "finder-c"], listed.Agents.Cast<JsonElement>().Select(a => a.GetProperty("name").GetString()!).Order());
            var refused = await manager.RefusalOfAsync(ManagerVerbs.ListAgents, new ListAgentsArgs("Not A Name"));
            Assert.Equal("validation", refused.Code);
        }
        finally
        {
            foreach (var name in new[] { "finder-a", "finder-b", "finder-c" }) await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("Review")]
    [InlineData("")]
    [InlineData("-code")]
    [InlineData("a%20b")]
    public async Task Listing_by_a_malformed_capability_is_a_validation_problem(string capability)
    {
        using var response = await _hive.Http.GetAsync($"/api/agents?capability={capability}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("validation", Problem.Of(problem).Code);
        Assert.Contains("capability must match", FieldError(problem, "capability"));
    }

    public static TheoryData<string[], string> BadCapabilities => new()
    {
        { ["Review"], "must match" },
        { [""], "must match" },
        { ["code", "code"], "given twice" },
        { ["x y"], "must match" },
        { [new string('a', 32)], "must match" },
        { Enumerable.Range(0, 17).Select(i => $"c{i}").ToArray(), "at most 16" },
    };

    [Theory]
    [MemberData(nameof(BadCapabilities))]
    public async Task Bad_capabilities_are_a_validation_problem_and_make_no_agent(string[] capabilities, string says)
    {
        foreach (var body in new object[]
                 {
                     new { name = "refused", command = Sleeper, driver = "process", capabilities },
                     new { name = "refused", driver = "external", capabilities },
                 })
        {
            var (status, problem) = await PostAsync(_hive.Http, "/api/agents", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("validation", Problem.Of(problem).Code);
            Assert.Contains(says, FieldError(problem, "capabilities"));
            Assert.Null(await RowAsync(_hive, "refused"));
            Assert.False(File.Exists(Path.Combine(_hive.DataDir, "meta", "agents", "refused.json")));
        }
    }

    [Fact]
    public async Task A_configuration_change_sets_the_capabilities_and_the_row_goes_out_and_a_bad_one_changes_nothing()
    {
        const string name = "retrained";
        try
        {
            await CreateAsync(_hive.Http, new { name, command = Sleeper, driver = "process", capabilities = new[] { "code" } });
            await using var events = await _hive.OpenEventsAsync();
            var applied = await PutConfigAsync(name, new { command = Sleeper, driver = "process", capabilities = new[] { "code", "review" } });
            Assert.True(applied.Changed);
            Assert.Contains("\"review\"", applied.Diff);
            var shown = await NextRowAsync(events, name, r => Names(r).Contains("review"));
            Assert.Equal(["code", "review"], Names(shown));
            Assert.Equal(["code", "review"], Names((await RowAsync(_hive, name))!.Value));
            Assert.Equal(["code", "review"], Names(MetaFile(name)));
            Assert.Equal(["code", "review"], Names((await _hive.GetJsonAsync("/api/agents?capability=review")).EnumerateArray()
                .Single(a => a.GetProperty("name").GetString() == name)));

            using var bad = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config", new { command = Sleeper, driver = "process", capabilities = new[] { "design", "design" } });
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("given twice", await bad.Content.ReadAsStringAsync());
            Assert.Equal(["code", "review"], Names((await RowAsync(_hive, name))!.Value));
            Assert.Equal(["code", "review"], Names(MetaFile(name)));

            // Nor does a hand edit of the file: the rebuild refuses it and the row keeps what it had.
            var file = Path.Combine(_hive.DataDir, "meta", "agents", name + ".json");
            var good = await File.ReadAllTextAsync(file);
            await File.WriteAllTextAsync(file, good.Replace("\"review\"", "\"Review It\""));
            MetaGit.In(_hive.DataDir, "commit", "-q", "-am", "someone edits by hand");
            await using (var manager = await _hive.ConnectAsync("manager"))
            {
                var rebuilt = await manager.RefusalOfAsync(ManagerVerbs.Rebuild, new TargetArgs(name));
                Assert.Equal("conflict", rebuilt.Code);
                Assert.Contains("capability 'Review It' must match", rebuilt.Error);
            }
            Assert.Equal(["code", "review"], Names((await RowAsync(_hive, name))!.Value));
            await File.WriteAllTextAsync(file, good);
            MetaGit.In(_hive.DataDir, "commit", "-q", "-am", "and puts it back");

            // Taking every capability away leaves the file without the field, and the agent out of every search.
            await PutConfigAsync(name, new { command = Sleeper, driver = "process" });
            Assert.Empty(Names((await RowAsync(_hive, name))!.Value));
            Assert.False(MetaFile(name).TryGetProperty("capabilities", out _));
            Assert.DoesNotContain((await _hive.GetJsonAsync("/api/agents?capability=code")).EnumerateArray(), a => a.GetProperty("name").GetString() == name);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_spawn_the_manager_asks_for_carries_its_capabilities_once_approved()
    {
        const string name = "spawned-cap";
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            static SpawnArgs Reviewer(string name, string capability) =>
                new(name, "reviews", Sleeper, "process", null, null, null, null, Capabilities: [capability]);
            var bad = await manager.RefusalOfAsync(ManagerVerbs.RequestSpawn, Reviewer(name, "Review"));
            Assert.Equal("validation", bad.Code);

            var reply = await manager.CallAsync(ManagerVerbs.RequestSpawn, Reviewer(name, "review"));
            using var approved = await _hive.Http.PostAsync($"/api/approvals/{reply.ApprovalId}/approve", null);
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            Assert.Equal(["review"], Names((await RowAsync(_hive, name))!.Value));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task Capabilities_survive_a_restart_of_the_host()
    {
        await using var hive = await HiveInstance.StartAsync([]);
        await CreateAsync(hive.Http, new { name = "keeper", command = Sleeper, driver = "process", capabilities = new[] { "design" } });
        await CreateAsync(hive.Http, new { name = "away", driver = "external", capabilities = new[] { "design", "code" } });
        try
        {
            await hive.RestartAsync();

            var found = await hive.GetJsonAsync("/api/agents?capability=design");
            Assert.Equal(["away", "keeper"], found.EnumerateArray().Select(a => a.GetProperty("name").GetString()!).Order());
            var keeper = (await RowAsync(hive, "keeper"))!.Value;
            Assert.Equal(["design"], Names(keeper));
            Assert.Equal(JsonValueKind.Null, keeper.GetProperty("config_error").ValueKind); // its meta file still agrees with the registry
            Assert.Equal(["design", "code"], Names((await RowAsync(hive, "away"))!.Value));
        }
        finally
        {
            await DestroyAsync(hive, "keeper");
        }
    }

    [Fact]
    public async Task Agents_declared_in_the_configuration_take_capabilities_in_the_object_form_beside_plain_names()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"],
            "--Hive:Agents:1:Name", "bob", "--Hive:Agents:1:Capabilities:0", "code", "--Hive:Agents:1:Capabilities:1", "review");
        for (var life = 0; life < 2; life++)
        {
            Assert.Equal(["bob"], (await hive.GetJsonAsync("/api/agents?capability=review")).EnumerateArray().Select(a => a.GetProperty("name").GetString()!));
            Assert.Equal(["code", "review"], Names((await RowAsync(hive, "bob"))!.Value));
            Assert.Empty(Names((await RowAsync(hive, "alice"))!.Value));
            await using (var bob = await hive.ConnectAsync("bob"))
                Assert.Equal("bob", (await bob.CallAsync(MessageVerbs.Whoami, new NoArgs())).Name);
            if (life == 0) await hive.RestartAsync();
        }

        // A bad capability refuses the start in one line naming the agent.
        var dataDir = Directory.CreateTempSubdirectory("hive-config-caps-").FullName;
        try
        {
            var (exitCode, output, errors) = await HostProcess.RunToExitWithErrorsAsync(TimeSpan.FromSeconds(60),
                [.. HiveInstance.ArgsFor(dataDir, ["alice"]), "--Hive:Agents:1:Name", "bob", "--Hive:Agents:1:Capabilities:0", "Not A Name"]);
            Assert.Equal(1, exitCode);
            Assert.Equal("hive: Hive:Agents: 'bob': capability 'Not A Name' must match ^[a-z][a-z0-9-]{0,30}$", errors.Trim());
            Assert.DoesNotContain("Exception", output);
        }
        finally
        {
            await TestDirectories.DeleteAsync(dataDir);
        }
    }

    private static readonly string[] Sleeper = ["/bin/sh", "-c", "exec sleep 1000"];

    private static string[] Names(JsonElement holder) =>
        holder.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()!).ToArray();

    /// <summary>The agent's file as the meta repo's <c>main</c> holds it.</summary>
    private JsonElement MetaFile(string name) => JsonDocument.Parse(MetaGit.In(_hive.DataDir, "show", $"main:agents/{name}.json")).RootElement.Clone();

    private async Task<ConfigureAgent.ConfigChange> PutConfigAsync(string name, object config)
    {
        using var response = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config", config);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<ConfigureAgent.ConfigChange>(text, HiveJson.Options)!;
    }
}
