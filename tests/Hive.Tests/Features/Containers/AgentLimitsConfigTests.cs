using Hive.Contracts.Agents;
using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Features.Containers;
using Hive.Features.Containers.Runtime;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// An agent's own caps in its configuration (<c>limits: {memory_mib, cpu_percent, pids}</c>): taken at create, on the row,
/// in the meta file and on its real cgroup; moved by a configuration change (a rebuild, and one <c>limit_change</c>
/// intervention with the caps before and after); a bad cap refused naming the field and its bounds, changing nothing.
/// </summary>
public sealed class AgentLimitsConfigTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;
    private static readonly string[] Sleeper = ["/bin/sh", "-c", "exec sleep 1000"];

    [Fact]
    public async Task An_agent_created_with_its_own_memory_cap_runs_under_it_and_a_config_change_moves_it_with_one_intervention()
    {
        const string name = "capped";
        try
        {
            var row = await CreateAsync(_hive.Http, new { name, command = Sleeper, driver = "process", limits = new { memory_mib = 64 } });
            Assert.Equal(64, MetaConfig(_hive, name).Limits!.MemoryMib);
            Assert.False(MetaFile(name).GetProperty("limits").TryGetProperty("pids", out _)); // the hive's default stays out of the file (absent: raw)
            var config = (await _hive.GetAsync<ReadAgentConfig.View>($"/api/agents/{name}/config")).Config!;
            Assert.Equal(64, config.Limits!.MemoryMib);
            if (!_hive.Service<AgentCgroups>().LimitsOn)
            {
                Assert.Equal("off", row.GetProperty("limits").GetString());
                return;
            }
            // Its own cap where it set one, the hive's default elsewhere, and the kernel holds it to that.
            var limits = row.GetProperty("limits");
            Assert.Equal(64, limits.GetProperty("memory_mib").GetInt32());
            Assert.Equal(200, limits.GetProperty("cpu_percent").GetInt32());
            Assert.Equal(1024, limits.GetProperty("pids").GetInt32());
            Assert.Equal(64L << 20, MemoryCapOnItsCgroup(name));
            var pid = row.Pid();

            var applied = await PutConfigAsync(name, new { command = Sleeper, driver = "process", limits = new { memory_mib = 128, pids = 100 } });
            Assert.True(applied.Changed);
            var rebuilt = (await RowAsync(_hive, name))!.Value;
            Assert.NotEqual(pid, rebuilt.Pid());
            Assert.Equal(128, rebuilt.GetProperty("limits").GetProperty("memory_mib").GetInt32());
            Assert.Equal(100, rebuilt.GetProperty("limits").GetProperty("pids").GetInt32());
            Assert.Equal(128L << 20, MemoryCapOnItsCgroup(name));

            var change = Assert.Single(await InterventionsAsync(name), i => i.Action == "limit_change");
            Assert.Equal("operator", change.Actor);
            Assert.Equal("""{"memory_mib":64,"cpu_percent":null,"pids":null}""", change.Before!.Value.GetRawText());
            Assert.Equal("""{"memory_mib":128,"cpu_percent":null,"pids":100}""", change.After!.Value.GetRawText());

            // A change of anything else leaves the caps, and the audit, alone.
            await PutConfigAsync(name, new { command = Sleeper, driver = "process", purpose = "sleeps", limits = new { memory_mib = 128, pids = 100 } });
            Assert.Single(await InterventionsAsync(name), i => i.Action == "limit_change");
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("memory_mib", 8, "limits.memory_mib must be between 16 and 1048576")]
    [InlineData("cpu_percent", 0, "limits.cpu_percent must be between 1 and 25600")]
    [InlineData("pids", 5_000_000, "limits.pids must be between 1 and 4194304")]
    public async Task A_cap_out_of_bounds_is_refused_naming_the_field_and_changes_nothing(string field, long value, string message)
    {
        var name = "bounds-" + field.Replace('_', '-')[..3];
        var bad = new Dictionary<string, long> { [field] = value };
        var (status, problem) = await PostAsync(_hive.Http, "/api/agents", new { name, command = Sleeper, driver = "process", limits = bad });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("validation", Problem.Of(problem).Code);
        Assert.Equal(message, FieldError(problem, "limits"));
        Assert.Null(await RowAsync(_hive, name));

        try
        {
            await CreateAsync(_hive.Http, new { name, command = Sleeper, driver = "process", limits = new { pids = 200 } });
            var before = (await RowAsync(_hive, name))!.Value;
            using var refused = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config", new { command = Sleeper, driver = "process", limits = bad });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(message, await refused.Content.ReadAsStringAsync());
            var after = (await RowAsync(_hive, name))!.Value;
            Assert.Equal(before.Pid(), after.Pid());
            Assert.Equal(before.GetProperty("limits").GetRawText(), after.GetProperty("limits").GetRawText());
            Assert.Equal(200, MetaConfig(_hive, name).Limits!.Pids);
            Assert.Empty(await InterventionsAsync(name));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task The_managers_spawn_and_proposal_carry_caps_and_its_change_is_recorded_as_the_managers()
    {
        const string name = "asked-capped";
        await using var manager = await _hive.ConnectAsync("manager");
        await using var events = await _hive.OpenEventsAsync();
        try
        {
            var reply = await manager.CallAsync(ManagerVerbs.RequestSpawn,
                new SpawnArgs(name, "sleeps", Sleeper, "process", null, null, null, null, Limits: new AgentLimits(Pids: 77)));
            using (var approved = await _hive.Http.PostAsync($"/api/approvals/{reply.ApprovalId}/approve", null))
                Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            await NextRowAsync(events, name, r => r.State() == "running");
            Assert.Equal(77, MetaConfig(_hive, name).Limits!.Pids);
            var row = (await RowAsync(_hive, name))!.Value;
            if (_hive.Service<AgentCgroups>().LimitsOn) Assert.Equal(77, row.GetProperty("limits").GetProperty("pids").GetInt32());

            static ProposeConfigArgs Capped(string name, AgentLimits limits) => new(name, new AgentConfig(Sleeper, "process", null, null, null, null, Limits: limits));
            var bad = await manager.RefusalOfAsync(ManagerVerbs.ProposeConfig, Capped(name, new AgentLimits(Pids: 0)));
            Assert.Equal("validation", bad.Code);

            var proposed = await manager.CallAsync(ManagerVerbs.ProposeConfig, Capped(name, new AgentLimits(CpuPercent: 25)));
            using (var approved = await _hive.Http.PostAsync($"/api/approvals/{proposed.ApprovalId}/approve", null))
                Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            var change = (await events.WaitForPayloadAsync<InterventionRecordedPayload>("intervention_recorded", e => e.Intervention.Target == name)).Intervention;
            Assert.Equal("limit_change", change.Action);
            Assert.Equal("manager", change.Actor);
            Assert.Equal("""{"memory_mib":null,"cpu_percent":null,"pids":77}""", change.Before!.Value.GetRawText());
            Assert.Equal("""{"memory_mib":null,"cpu_percent":25,"pids":null}""", change.After!.Value.GetRawText());
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task An_external_agent_cannot_have_caps()
    {
        var (status, problem) = await PostAsync(_hive.Http, "/api/agents", new { name = "outside-capped", driver = "external", limits = new { pids = 10 } });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("process and bubblewrap", FieldError(problem, "limits"));
        Assert.Null(await RowAsync(_hive, "outside-capped"));
    }

    /// <summary>What the kernel holds the agent's running cgroup to, in bytes (v1 <c>memory.limit_in_bytes</c>, v2 <c>memory.max</c>).</summary>
    private long MemoryCapOnItsCgroup(string name)
    {
        var cgroup = _hive.Service<AgentCgroups>().RunningOf(name) ?? throw new InvalidOperationException($"{name} has no running cgroup");
        var file = cgroup.Dirs.SelectMany(d => new[] { Path.Combine(d, "memory.limit_in_bytes"), Path.Combine(d, "memory.max") }).First(File.Exists);
        return long.Parse(File.ReadAllText(file).Trim());
    }

    private JsonElement MetaFile(string name) => JsonDocument.Parse(MetaGit.In(_hive.DataDir, "show", $"main:agents/{name}.json")).RootElement.Clone();

    private async Task<ConfigureAgent.ConfigChange> PutConfigAsync(string name, object config)
    {
        using var response = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config", config);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<ConfigureAgent.ConfigChange>(text, HiveJson.Options)!;
    }

    private Task<List<InterventionView>> InterventionsAsync(string name) => _hive.GetAsync<List<InterventionView>>($"/api/interventions?agent={name}");
}
