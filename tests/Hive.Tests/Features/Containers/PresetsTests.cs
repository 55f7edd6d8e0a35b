using Hive.Contracts.Json;
using Hive.Features.Containers;
using Hive.Features.Containers.Presets;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// Agent presets (data in the meta repo, the shipped ones copied in, an operator's dropped in beside them), an agent made
/// from one, and the operator's own configuration change with its diff (<c>PUT /api/agents/{name}/config</c>).
/// </summary>
public sealed class PresetsTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    /// <summary>
    /// An operator's preset: <c>sh</c> found on the host, a script that writes what it was given into its state dir (its
    /// HOME, a preset variable the caller overrides, its name and purpose through a text), then sleeps.
    /// </summary>
    private void DropPreset(string preset)
    {
        var dir = Path.Combine(_hive.DataDir, "meta", "presets");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, preset + ".json"), JsonSerializer.Serialize(new
        {
            description = "a shell that reports what it was given",
            program = "sh",
            command = new[]
            {
                "${program}", "-c",
                "printf '%s|%s|%s|%s' \"$HOME\" \"$FLAVOUR\" \"$COLOUR\" \"$1\" > \"$HIVE_STATE_DIR/given.txt\"; exec sleep 1000", "sh", "${greeting}",
            },
            env = new Dictionary<string, string> { ["HOME"] = "home", ["FLAVOUR"] = "plain", ["COLOUR"] = "grey" },
            text = new Dictionary<string, string> { ["greeting"] = "I am ${name}: ${purpose}" },
        }));
    }

    private async Task<string> GivenAsync(string name)
    {
        var file = Path.Combine(_hive.DataDir, "agents", name, "state", "given.txt");
        await HiveInstance.Until(() => File.Exists(file) && new FileInfo(file).Length > 0, what: $"{name} to write given.txt");
        return await File.ReadAllTextAsync(file);
    }

    [Fact]
    public async Task The_shipped_claude_code_preset_is_listed_and_committed_in_the_meta_repo()
    {
        var presets = await _hive.GetAsync<List<PresetView>>("/api/presets");
        var claude = presets.Single(p => p.Name == "claude-code");
        Assert.Equal("claude", claude.Program);
        Assert.Contains("Claude Code", claude.Description);
        // Found on this host or not, it says which: a path, or how to install it.
        Assert.True(claude.ProgramPath is not null || claude.Problem!.Contains("npm install -g @anthropic-ai/claude-code", StringComparison.Ordinal));

        var file = Path.Combine(_hive.DataDir, "meta", "presets", "claude-code.json");
        Assert.True(File.Exists(file));
        var log = MetaGit.In(_hive.DataDir, "log", "--format=%s", "--", "presets/claude-code.json");
        Assert.Contains("presets", log);
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task An_agent_from_an_operators_preset_runs_its_expanded_command_with_a_home_in_its_state_dir(string driver)
    {
        var preset = $"report-{driver[..4]}";
        var name = $"preset-{driver[..4]}";
        DropPreset(preset);
        try
        {
            var listed = await _hive.GetJsonAsync("/api/presets");
            // No problem is written as a present null: the raw JSON says so, a record would not.
            Assert.Contains(listed.EnumerateArray(), p => p.GetProperty("name").GetString() == preset && p.GetProperty("problem").ValueKind == JsonValueKind.Null);

            var row = await CreateAsync(_hive.Http, new { name, preset, driver, purpose = "test presets", env = new Dictionary<string, string> { ["COLOUR"] = "blue" } });
            Assert.Equal("running", row.State());
            var command = row.GetProperty("command").EnumerateArray().Select(a => a.GetString()).ToList();
            Assert.Equal("I am " + name + ": test presets", command[^1]);
            Assert.StartsWith("/", command[0]); // the program as found on the host

            var stateDir = driver == "bubblewrap" ? $"/agents/{name}/state" : Path.Combine(_hive.DataDir, "agents", name, "state");
            Assert.Equal($"{stateDir}/home|plain|blue|I am {name}: test presets", await GivenAsync(name));
            Assert.True(Directory.Exists(Path.Combine(_hive.DataDir, "agents", name, "state", "home")));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_preset_with_a_command_an_unknown_preset_and_an_absolute_home_are_refused_and_make_nothing()
    {
        DropPreset("report-bad");
        var (status, problem) = await PostAsync(_hive.Http, "/api/agents",
            new { name = "bad-both", preset = "report-bad", command = new[] { "/bin/true" }, driver = "process" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("a preset or a command, not both", problem.ToString());

        (status, problem) = await PostAsync(_hive.Http, "/api/agents", new { name = "bad-unknown", preset = "no-such-preset", driver = "process" });
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("claude-code", Problem.Of(problem).Detail);

        (status, problem) = await PostAsync(_hive.Http, "/api/agents",
            new { name = "bad-home", preset = "report-bad", driver = "process", env = new Dictionary<string, string> { ["HOME"] = "/root" } });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("HOME is a directory in the agent's state dir", problem.ToString());

        foreach (var name in new[] { "bad-both", "bad-unknown", "bad-home" })
        {
            var made = await RowAsync(_hive, name);
            if (made is not null) await DestroyAsync(_hive, name);
            Assert.Null(made);
        }
    }

    [Fact]
    public async Task The_operator_reviews_a_configuration_change_as_a_diff_then_applies_it_and_the_same_again_changes_nothing()
    {
        const string name = "configured";
        try
        {
            await CreateAsync(_hive.Http, new { name, command = new[] { "/bin/sh", "-c", "echo one > \"$HIVE_STATE_DIR/given.txt\"; exec sleep 1000" }, driver = "process", purpose = "first" });
            var config = (await ConfigAsync(name)).Config!;
            Assert.Equal("first", config.Purpose);
            Assert.Equal("process", config.Driver);

            var next = new { command = new[] { "/bin/sh", "-c", "echo two > \"$HIVE_STATE_DIR/given.txt\"; exec sleep 1000" }, driver = "process", purpose = "second" };
            var approvalsBefore = (await ApprovalsAsync(_hive, all: true)).Count;
            var preview = await PutConfigAsync(name, next, dryRun: true);
            Assert.True(Change(preview).Changed);
            var diff = Change(preview).Diff;
            Assert.Contains("-  \"purpose\": \"first\"", diff);
            Assert.Contains("+  \"purpose\": \"second\"", diff);
            Assert.Equal(JsonValueKind.Null, preview.GetProperty("approval_id").ValueKind); // present and null: the raw JSON says so, a record would not
            // A dry run changes nothing.
            Assert.Equal("first", (await ConfigAsync(name)).Config!.Purpose);
            Assert.Equal(approvalsBefore, (await ApprovalsAsync(_hive, all: true)).Count);

            Assert.Equal("one\n", await GivenAsync(name)); // the first command has written its file: a late write cannot follow the delete
            File.Delete(Path.Combine(_hive.DataDir, "agents", name, "state", "given.txt"));
            var applied = await PutConfigAsync(name, next, dryRun: false);
            Assert.True(Change(applied).Changed);
            var approval = Change(applied).ApprovalId!.Value;
            var recorded = (await ApprovalsAsync(_hive, all: true)).Single(a => a.Id == approval);
            Assert.Equal("operator", recorded.Requester);
            Assert.Equal("approved", recorded.Status);
            Assert.Equal("two\n", await GivenAsync(name)); // rebuilt with the new command
            Assert.Equal("second", (await ConfigAsync(name)).Config!.Purpose);

            var again = await PutConfigAsync(name, next, dryRun: false);
            Assert.False(Change(again).Changed);
            Assert.Equal("", Change(again).Diff);
            Assert.Equal(JsonValueKind.Null, again.GetProperty("approval_id").ValueKind); // present and null, as above

            using var bad = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config?dry_run=maybe", next);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            using var invalid = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config", new { command = new[] { "/bin/sh" }, env = new Dictionary<string, string> { ["HIVE_X"] = "1" } });
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            using var missing = await _hive.Http.PutAsJsonAsync("/api/agents/nobody-here/config", next);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    private async Task<JsonElement> PutConfigAsync(string name, object config, bool dryRun)
    {
        using var response = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config{(dryRun ? "?dry_run=true" : "")}", config);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static ConfigureAgent.ConfigChange Change(JsonElement reply) => reply.Deserialize<ConfigureAgent.ConfigChange>(HiveJson.Options)!;

    private Task<ReadAgentConfig.View> ConfigAsync(string name) => _hive.GetAsync<ReadAgentConfig.View>($"/api/agents/{name}/config");

    /// <summary>
    /// The Claude Code the preset installs (and the README tells the operator to) is the version the suite
    /// tests (<c>test.sh</c>'s <c>claude_version</c>): an unpinned <c>npm install -g</c> installed an older one.
    /// </summary>
    [Fact]
    public void The_claude_code_preset_installs_the_version_test_sh_tests()
    {
        var root = Hive.Tests.Architecture.HiveSources.RepoRoot();
        var tested = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(root, "test.sh")), @"(?m)^claude_version=(\S+)$");
        Assert.True(tested.Success, "test.sh has no claude_version= line");
        var pinned = $"npm install -g @anthropic-ai/claude-code@{tested.Groups[1].Value}";
        var preset = JsonSerializer.Deserialize<AgentPreset>(File.ReadAllText(Path.Combine(root, "src", "Features", "Containers", "Agents", "Presets", "claude-code.json")), HiveJson.Options)!;
        Assert.Equal(pinned, preset.Install);
        var readme = File.ReadAllText(Path.Combine(root, "docs", "operator", "agents.md")); // the operator guide says how to install it
        Assert.Contains(pinned, readme);
        Assert.DoesNotMatch(@"npm install -g @anthropic-ai/claude-code(?!@)", readme);
    }
}
