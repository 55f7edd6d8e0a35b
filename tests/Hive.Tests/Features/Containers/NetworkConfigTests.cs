using Hive.Contracts.Agents;
using Hive.Contracts.Json;
using Hive.Features.Containers;
using Hive.Features.Containers.Presets;
using Hive.Features.Containers.Runtime;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// An agent's network as configuration: <c>network</c> (sealed or open) and <c>egress</c> rules checked at
/// create, in the manager's spawns and proposals and in the operator's config PUT, a bad one refused with the reason and
/// nothing changed; sealed by default for presets and bubblewrap, open for a plain process agent and for every file that
/// names none; a change to open is approved like any other, its diff showing it; a change of only the egress rules
/// applies without a restart, as does <see cref="AllowEgress"/>.
/// </summary>
public sealed class NetworkConfigTests(NetworkConfigFixture fixture) : SharedHiveTests(fixture), IClassFixture<NetworkConfigFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;
    private static readonly string[] Sleeper = ["/bin/sh", "-c", "exec sleep 1000"];

    public static TheoryData<string, string, object, string> BadNetworks => new()
    {
        { "bad-wild", "egress", new[] { "exa*mple.com" }, "a wildcard goes only at the start" },
        { "bad-dots", "egress", new[] { "a..b" }, "is not a DNS name" },
        { "bad-port", "egress", new[] { "host:0" }, "the port '0' is not a number from 1 to 65535" },
        { "bad-url", "egress", new[] { "http://x" }, "is a URL" },
        { "bad-many", "egress", Enumerable.Range(0, 257).Select(i => $"h{i}.example.com").ToArray(), "egress has 257 rules; at most 256" },
        { "bad-net", "network", "closed", "network must be sealed or open" },
    };

    [Theory]
    [MemberData(nameof(BadNetworks))]
    public async Task A_bad_network_or_egress_rule_is_refused_at_create_in_a_spawn_in_a_proposal_and_in_a_config_put_changing_nothing(
        string name, string field, object value, string reason)
    {
        var body = new Dictionary<string, object> { ["name"] = name, ["command"] = Sleeper, ["driver"] = "process", [field] = value };
        var (status, problem) = await PostAsync(_hive.Http, "/api/agents", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, FieldError(problem, field));
        Assert.Null(await RowAsync(_hive, name));
        Assert.False(File.Exists(Path.Combine(_hive.DataDir, "meta", "agents", name + ".json")));

        await using var manager = await _hive.ConnectAsync("manager");
        var (network, egress) = (value as string, value as string[]);
        var spawn = await manager.RefusalOfAsync(ManagerVerbs.RequestSpawn,
            new SpawnArgs(name, "sleeps", Sleeper, "process", null, null, null, null, Network: network, Egress: egress));
        Assert.Contains(reason, spawn.Error);
        Assert.DoesNotContain(await ApprovalsAsync(_hive), a => a.Agent == name);

        try
        {
            var row = await CreateAsync(_hive.Http, new { name, command = Sleeper, driver = "process" });
            var file = MetaFile(name).GetRawText();
            var config = new Dictionary<string, object> { ["command"] = Sleeper, ["driver"] = "process", [field] = value };
            var proposed = await manager.RefusalOfAsync(ManagerVerbs.ProposeConfig,
                new ProposeConfigArgs(name, new AgentConfig(Sleeper, "process", null, null, null, null, Network: network, Egress: egress)));
            Assert.Contains(reason, proposed.Error);

            using var put = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config", config);
            Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
            Assert.Contains(reason, await put.Content.ReadAsStringAsync());

            Assert.DoesNotContain(await ApprovalsAsync(_hive), a => a.Agent == name);
            Assert.Equal(file, MetaFile(name).GetRawText());
            var after = (await RowAsync(_hive, name))!.Value;
            Assert.Equal(row.Pid(), after.Pid());
            Assert.Equal("open", after.GetProperty("network").GetString());
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_bubblewrap_agent_is_sealed_by_default_and_a_process_agent_stays_open_with_nothing_in_its_file()
    {
        try
        {
            var sealedRow = await CreateAsync(_hive.Http, new { name = "wrapped", command = Sleeper, driver = "bubblewrap" });
            Assert.Equal("sealed", sealedRow.GetProperty("network").GetString());
            Assert.Empty(sealedRow.GetProperty("egress").EnumerateArray());
            Assert.False(sealedRow.GetProperty("egress_ask").GetBoolean());
            Assert.Equal("sealed", MetaConfig(_hive, "wrapped").Network);

            var openRow = await CreateAsync(_hive.Http, new { name = "plain", command = Sleeper, driver = "process" });
            Assert.Equal("open", openRow.GetProperty("network").GetString());
            // As every file before the setting existed: no field, so no diff and no rebuild for them.
            var file = MetaFile("plain");
            Assert.False(file.TryGetProperty("network", out _));
            Assert.False(file.TryGetProperty("egress", out _));
            Assert.False(file.TryGetProperty("egress_ask", out _));
            var view = await SendAsync(new ReadAgentEgress.Query("plain"));
            Assert.Equal("open", view.Network);
            Assert.Empty(view.Egress);
        }
        finally
        {
            await DestroyAsync(_hive, "wrapped");
            await DestroyAsync(_hive, "plain");
        }
    }

    [Fact]
    public void An_old_file_without_the_fields_reads_as_before_and_a_hand_edit_with_a_bad_one_is_refused()
    {
        const string old = """{"command":["/bin/sh"],"driver":"bubblewrap","env":{},"purpose":null,"restart":"on-failure","mounts":[],"inputs":[],"allowed_recipients":null}""";
        var config = AgentFile.Parse("old", old);
        Assert.Null(config.Network);
        Assert.Null(config.Egress);
        Assert.Null(config.EgressAsk);
        Assert.DoesNotContain("network", AgentFile.Serialize(config));

        var bad = Assert.Throws<MetaFileException>(() => AgentFile.Parse("old", old[..^1] + ",\"network\":\"closed\"}"));
        Assert.Contains("network must be sealed or open", bad.Message);
        bad = Assert.Throws<MetaFileException>(() => AgentFile.Parse("old", old[..^1] + ",\"egress\":[\"a..b\"]}"));
        Assert.Contains("a..b", bad.Message);
    }

    [Fact]
    public async Task Sealed_is_taken_where_the_driver_can_seal_and_refused_with_the_reason_where_it_cannot()
    {
        // This host is root with unshare --net and ip: the process driver can seal.
        Assert.Null(NetworkSealing.ProcessCannotSeal());
        try
        {
            var row = await CreateAsync(_hive.Http, new { name = "sealed-proc", command = Sleeper, driver = "process", network = "sealed", egress = new[] { "github.com" } });
            Assert.Equal("sealed", row.GetProperty("network").GetString());
            Assert.Equal(["github.com"], row.GetProperty("egress").EnumerateArray().Select(e => e.GetString()));
        }
        finally
        {
            await DestroyAsync(_hive, "sealed-proc");
        }

        var (status, problem) = await PostAsync(_hive.Http, "/api/agents", new { name = "sealed-nixos", command = Sleeper, driver = "nixos-container", network = "sealed" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not yet", FieldError(problem, "network"));
        Assert.Null(await RowAsync(_hive, "sealed-nixos"));

        (status, problem) = await PostAsync(_hive.Http, "/api/agents", new { name = "sealed-ext", driver = "external", network = "sealed" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("external agent", FieldError(problem, "network"));
        Assert.Null(await RowAsync(_hive, "sealed-ext"));

        // Egress on an open agent is kept: it takes effect once the agent is sealed.
        try
        {
            var row = await CreateAsync(_hive.Http, new { name = "open-listed", command = Sleeper, driver = "process", network = "open", egress = new[] { "*.npmjs.org" }, egress_ask = true });
            Assert.Equal("open", row.GetProperty("network").GetString());
            Assert.Equal(["*.npmjs.org"], row.GetProperty("egress").EnumerateArray().Select(e => e.GetString()));
            Assert.True(row.GetProperty("egress_ask").GetBoolean());
            Assert.True(MetaConfig(_hive, "open-listed").EgressAsk);
        }
        finally
        {
            await DestroyAsync(_hive, "open-listed");
        }
    }

    [Fact]
    public async Task A_presets_agent_is_sealed_the_shipped_claude_code_preset_says_so_and_the_callers_network_wins()
    {
        await _hive.GetJsonAsync("/api/presets"); // the shipped presets are written into the meta repo when first listed
        var shipped = JsonSerializer.Deserialize<AgentPreset>(File.ReadAllText(Path.Combine(_hive.DataDir, "meta", "presets", "claude-code.json")), HiveJson.Options)!;
        Assert.Equal("sealed", shipped.Network);
        Assert.Empty(shipped.Egress!);

        // A preset that names no network (an operator's, older than the setting) gives a sealed agent all the same.
        var dir = Path.Combine(_hive.DataDir, "meta", "presets");
        File.WriteAllText(Path.Combine(dir, "sleeper.json"), """{"program":"sh","command":["${program}","-c","exec sleep 1000"]}""");
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var row = await CreateAsync(_hive.Http, new { name = "preset-proc", preset = "sleeper", driver = "process" });
            Assert.Equal("sealed", row.GetProperty("network").GetString());
            Assert.Equal("sealed", MetaConfig(_hive, "preset-proc").Network);
            row = await CreateAsync(_hive.Http, new { name = "preset-open", preset = "sleeper", driver = "process", network = "open" });
            Assert.Equal("open", row.GetProperty("network").GetString());

            var id = (await manager.CallAsync(ManagerVerbs.RequestSpawn, new SpawnArgs("claude-asked", "codes", null, "process", "claude-code", null, null, null))).ApprovalId;
            var approval = (await ApprovalsAsync(_hive)).Single(a => a.Id == id);
            // A spawn's payload is written as it is asked for: no record names its fields.
            Assert.Equal("sealed", approval.Payload.GetProperty("network").GetString());
            using (var denied = await _hive.Http.PostAsync($"/api/approvals/{id}/deny", null)) Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        }
        finally
        {
            await DestroyAsync(_hive, "preset-proc");
            await DestroyAsync(_hive, "preset-open");
        }
    }

    [Fact]
    public async Task Opening_a_sealed_agent_is_a_proposal_the_operator_approves_with_the_network_in_its_diff()
    {
        const string name = "to-open";
        await using var events = await _hive.OpenEventsAsync();
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var row = await CreateAsync(_hive.Http, new { name, command = Sleeper, driver = "process", network = "sealed" });
            var id = (await manager.CallAsync(ManagerVerbs.ProposeConfig,
                new ProposeConfigArgs(name, new AgentConfig(Sleeper, "process", null, null, null, null, Network: "open", Egress: ["github.com:443"])))).ApprovalId;
            var approval = (await ApprovalsAsync(_hive)).Single(a => a.Id == id);
            Assert.Equal("pending", approval.Status);
            // A proposal's payload has no record: its diff is read from the raw JSON.
            var diff = approval.Payload.GetProperty("diff").GetString()!;
            Assert.Contains("-  \"network\": \"sealed\"", diff);
            Assert.Contains("+  \"network\": \"open\"", diff);
            Assert.Contains("+    \"github.com:443\"", diff);
            // Not before the operator says so.
            Assert.Equal("sealed", (await RowAsync(_hive, name))!.Value.GetProperty("network").GetString());
            Assert.Equal("sealed", MetaConfig(_hive, name).Network);

            using (var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", null)) Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            var rebuilt = await NextRowAsync(events, name, r => r.GetProperty("network").GetString() == "open" && r.State() == "running" && r.Transient() is null);
            Assert.NotEqual(row.Pid(), rebuilt.Pid()); // the network is the sandbox's: it needs a restart
            Assert.Equal("open", MetaConfig(_hive, name).Network);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_change_of_only_the_egress_rules_applies_without_a_restart_and_AllowEgress_adds_one_as_the_operators_change()
    {
        const string name = "listed";
        try
        {
            var row = await CreateAsync(_hive.Http, new { name, command = Sleeper, driver = "bubblewrap" });
            var pid = row.Pid();

            var listed = new { command = Sleeper, driver = "bubblewrap", network = "sealed", egress = new[] { "registry.npmjs.org" }, egress_ask = true };
            // Its review says so, and a change of more than the rules says it restarts.
            using (var review = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config?dry_run=true", listed))
                Assert.False((await review.Content.ReadFromJsonAsync<ConfigureAgent.ConfigChange>(HiveJson.Options))!.Restarts);
            using (var review = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config?dry_run=true", new { command = Sleeper, driver = "bubblewrap", purpose = "other" }))
                Assert.True((await review.Content.ReadFromJsonAsync<ConfigureAgent.ConfigChange>(HiveJson.Options))!.Restarts);
            using (var put = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config", listed))
            {
                var text = await put.Content.ReadAsStringAsync();
                Assert.True(put.StatusCode == HttpStatusCode.OK, text);
                var change = JsonSerializer.Deserialize<ConfigureAgent.ConfigChange>(text, HiveJson.Options)!;
                Assert.Contains("+    \"registry.npmjs.org\"", change.Diff);
                Assert.False(change.Restarts);
            }
            var after = (await RowAsync(_hive, name))!.Value;
            Assert.Equal(pid, after.Pid());
            Assert.Equal("running", after.State());
            Assert.Equal(["registry.npmjs.org"], after.GetProperty("egress").EnumerateArray().Select(e => e.GetString()));
            Assert.True(after.GetProperty("egress_ask").GetBoolean());
            Assert.Equal(["registry.npmjs.org"], (await SendAsync(new ReadAgentEgress.Query(name))).Egress);

            var added = await SendAsync(new AllowEgress.Command(name, "GitHub.com:443", "operator"));
            Assert.True(added.Added);
            Assert.Equal("github.com:443", added.Rule);
            var view = await SendAsync(new ReadAgentEgress.Query(name));
            Assert.Equal(["registry.npmjs.org", "github.com:443"], view.Egress);
            Assert.True(view.Ask);
            Assert.Equal(["registry.npmjs.org", "github.com:443"], MetaConfig(_hive, name).Egress);
            Assert.Equal($"{name}: egress github.com:443 allowed by the operator", MetaGit.In(_hive.DataDir, "log", "-1", "--format=%s", "--", $"agents/{name}.json").Trim());
            after = (await RowAsync(_hive, name))!.Value;
            Assert.Equal(pid, after.Pid());
            Assert.Equal(["registry.npmjs.org", "github.com:443"], after.GetProperty("egress").EnumerateArray().Select(e => e.GetString()));

            // The same place again (written another way) changes nothing.
            var again = await SendAsync(new AllowEgress.Command(name, "github.com", "operator"));
            Assert.False(again.Added);
            Assert.Equal(2, MetaConfig(_hive, name).Egress!.Count);

            await Assert.ThrowsAsync<FluentValidation.ValidationException>(() => SendAsync(new AllowEgress.Command(name, "http://x", "operator")));
            await Assert.ThrowsAsync<Hive.Shared.Errors.NotFoundException>(() => SendAsync(new AllowEgress.Command("nobody-here", "github.com", "operator")));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    private async Task<T> SendAsync<T>(IRequest<T> request)
    {
        await using var scope = _hive.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request);
    }

    private JsonElement MetaFile(string name) => JsonDocument.Parse(MetaGit.In(_hive.DataDir, "show", $"main:agents/{name}.json")).RootElement.Clone();
}

/// <summary>A hive of its own: these tests drop presets into its meta repo.</summary>
public sealed class NetworkConfigFixture : HiveFixture
{
    protected override string[] Args => ["--Hive:Presets:ClaudeCode:Path", "/bin/sh", "--Hive:Containers:StopGraceSeconds", "2"];
}
