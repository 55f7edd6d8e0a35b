using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Hive.Tests.Cli;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// Templates carry a team from one hive to another: a three-agent subtree exported with hivectl (a preset, a secret by
/// name, caps, egress, permissions, parent links) and imported into a fresh hive with a prefix, through one approval,
/// comes out configured field by field as it went in (the names prefixed); no secret's value is in the template; a file
/// changed after export fails the hash check by its name; bad templates (an unknown preset, a parent cycle, a taken name)
/// are refused and make nothing; and <c>template diff</c> shows what drifted.
/// </summary>
public sealed class TemplateTests : IAsyncLifetime
{
    private const string SecretValue = "tmpl-secret-value-7f3a9c1e55d2";
    private const string Preset = """{"program": "sh", "command": ["${program}", "-c", "exec sleep 1000", "${name}"], "env": {"HOME": "home", "LEVEL": "1"}}""";
    private HiveInstance _from = null!;
    private HiveInstance _to = null!;
    private string _dir = null!;

    public async Task InitializeAsync()
    {
        _from = await HiveInstance.StartAsync([], "--Hive:Containers:Driver", "process");
        _to = await HiveInstance.StartAsync([], "--Hive:Containers:Driver", "process");
        _dir = Directory.CreateTempSubdirectory("hive-template-").FullName;
    }

    public async Task DisposeAsync()
    {
        await _from.DisposeAsync();
        await _to.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static Task<HivectlResult> Hivectl(HiveInstance hive, params string[] args) =>
        Cli.Hivectl.RunAsync(["--url", hive.BaseAddress.ToString(), "--token", hive.Token!, .. args]);

    private static long Count(HiveInstance hive, string table) => hive.QueryDb<long>($"SELECT count(*) FROM {table}");

    /// <summary>The lead (from a preset, a secret by name, caps, egress, permissions, may_spawn), its worker and the worker's helper; and one outside.</summary>
    private async Task MakeTeamAsync()
    {
        var presets = Directory.CreateDirectory(Path.Combine(_from.DataDir, "meta", "presets")).FullName;
        File.WriteAllText(Path.Combine(presets, "tmpl-sleeper.json"), Preset);
        using (var saved = await _from.Http.PutAsJsonAsync("/api/secrets/tmpl-token", new { value = SecretValue })) saved.EnsureSuccessStatusCode();
        await CreateAsync(_from.Http, new
        {
            name = "lead", preset = "tmpl-sleeper", driver = "process", purpose = "leads the team", secrets = new { TOKEN = "tmpl-token" },
            env = new { MODE = "careful" }, limits = new { pids = 256, memory_mib = 512 }, capabilities = new[] { "review" },
            egress = new[] { "example.com:443" }, permissions = new { allow = new[] { "read" }, ask = new[] { "edit" }, @default = "deny" },
            may_spawn = new { depth = 2, children = 3 }, allowed_recipients = new[] { "worker" },
        });
        await CreateAsync(_from.Http, new { name = "worker", parent = "lead", driver = "process", purpose = "does the work", command = new[] { "sleep", "1000" }, env = new { SPEED = "2" } });
        await CreateAsync(_from.Http, new { name = "helper", parent = "worker", driver = "process", command = new[] { "sleep", "1001" }, restart = "never" });
        await CreateAsync(_from.Http, new { name = "outsider", driver = "process", command = new[] { "sleep", "1002" } });
    }

    private Dictionary<string, string> TemplateFiles() =>
        Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(_dir, f), File.ReadAllText);

    [Fact]
    public async Task A_subtree_exported_and_imported_with_a_prefix_is_configured_as_it_was_and_no_secret_value_is_in_the_template()
    {
        await MakeTeamAsync();
        (await Hivectl(_from, "template", "export", "lead", "--subtree", _dir)).Ok();

        var files = TemplateFiles();
        Assert.Equal(["manifest.json", "presets/tmpl-sleeper.json", "swarm.json"], files.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, text) in files) Assert.False(text.Contains(SecretValue, StringComparison.Ordinal), $"{path} holds the secret's value");
        var swarm = JsonNode.Parse(files["swarm.json"])!["agents"]!.AsArray();
        Assert.Equal(["lead", "worker", "helper"], swarm.Select(a => a!["name"]!.GetValue<string>()));
        Assert.Equal("tmpl-sleeper", swarm[0]!["preset"]!.GetValue<string>());
        Assert.Null(swarm[0]!["command"]); // made again from the preset, under its new name
        var manifest = JsonNode.Parse(files["manifest.json"])!;
        Assert.Equal(["tmpl-token"], manifest["secrets"]!.AsArray().Select(s => s!.GetValue<string>()));

        // A dry run names the missing secret and makes nothing; the import itself is refused until it exists.
        var (agents, approvals) = (Count(_to, "agents"), Count(_to, "approvals"));
        var dry = (await Hivectl(_to, "template", "import", _dir, "--prefix", "t-", "--dry-run", "--json")).Ok().Json;
        Assert.Equal(["t-lead", "t-worker", "t-helper"], dry.GetProperty("agents").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        Assert.Equal(["tmpl-token"], dry.GetProperty("missing_secrets").EnumerateArray().Select(s => s.GetString()));
        var refused = await Hivectl(_to, "template", "import", _dir, "--prefix", "t-");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("tmpl-token", refused.Stderr);
        Assert.Equal((agents, approvals), (Count(_to, "agents"), Count(_to, "approvals")));

        // With the secret: one approval, and once approved all three run.
        using (var saved = await _to.Http.PutAsJsonAsync("/api/secrets/tmpl-token", new { value = "another value here" })) saved.EnsureSuccessStatusCode();
        var asked = (await Hivectl(_to, "template", "import", _dir, "--prefix", "t-", "--json")).Ok().Json;
        var approvalId = asked.GetProperty("approval_id").GetInt64();
        Assert.Equal((agents, approvals + 1), (Count(_to, "agents"), Count(_to, "approvals")));
        var (status, body) = await PostAsync(_to.Http, $"/api/approvals/{approvalId}/approve");
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        foreach (var name in new[] { "t-lead", "t-worker", "t-helper" })
            await Constellation.TwoHives.UntilAsync(async () => (await RowAsync(_to, name))?.State() == "running", $"{name} to run", 60);

        // Field by field, as configured in the first hive; names within the team prefixed.
        string Renamed(string text) => text is "lead" or "worker" or "helper" ? "t-" + text : text;
        foreach (var name in new[] { "lead", "worker", "helper" })
        {
            var before = (await _from.GetJsonAsync($"/api/agents/{name}/config")).GetProperty("config");
            var after = (await _to.GetJsonAsync($"/api/agents/t-{name}/config")).GetProperty("config");
            Assert.Equal(before.EnumerateObject().Select(p => p.Name).Order(), after.EnumerateObject().Select(p => p.Name).Order());
            foreach (var field in before.EnumerateObject())
            {
                var expected = field.Name switch
                {
                    "parent" => field.Value.ValueKind == JsonValueKind.String ? $"\"t-{field.Value.GetString()}\"" : field.Value.GetRawText(),
                    "allowed_recipients" or "command" when field.Value.ValueKind == JsonValueKind.Array =>
                        JsonSerializer.Serialize(field.Value.EnumerateArray().Select(v => Renamed(v.GetString()!))),
                    _ => field.Value.GetRawText(),
                };
                Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(after.GetProperty(field.Name).GetRawText())),
                    $"t-{name}.{field.Name}: {after.GetProperty(field.Name).GetRawText()}, expected {expected}");
            }
            var row = (await RowAsync(_to, $"t-{name}"))!.Value;
            Assert.Equal(manifest["hash"]!.GetValue<string>(), row.GetProperty("template").GetProperty("hash").GetString());
            Assert.Equal("lead", row.GetProperty("template").GetProperty("name").GetString());
        }
        Assert.Equal("tmpl-sleeper", (await RowAsync(_to, "t-lead"))!.Value.GetProperty("preset").GetString());
        Assert.Null(await RowAsync(_to, "t-outsider"));

        // No drift yet; a purpose changed since shows as that field alone.
        var same = (await Hivectl(_to, "template", "diff", _dir, "--prefix", "t-", "--json")).Ok().Json;
        Assert.All(same.GetProperty("agents").EnumerateArray(), a => Assert.Equal("same", a.GetProperty("state").GetString()));
        var config = JsonNode.Parse((await _to.GetJsonAsync("/api/agents/t-worker/config")).GetProperty("config").GetRawText())!;
        config["purpose"] = "does other work now";
        using (var changed = await _to.Http.PutAsJsonAsync("/api/agents/t-worker/config", config)) Assert.True(changed.IsSuccessStatusCode, await changed.Content.ReadAsStringAsync());
        var drifted = (await Hivectl(_to, "template", "diff", _dir, "--prefix", "t-")).Ok().Stdout;
        Assert.Contains("t-worker: drifted", drifted);
        Assert.Contains("purpose:", drifted);
        Assert.Contains("t-lead: same", drifted);

        // The same template again with the same prefix: the names are taken, nothing is asked.
        approvals = Count(_to, "approvals");
        var taken = await Hivectl(_to, "template", "import", _dir, "--prefix", "t-");
        Assert.Contains("there is already an agent named t-lead", taken.Stderr);
        Assert.Equal(approvals, Count(_to, "approvals"));

        // A file changed after export fails the hash check by its name.
        var swarmFile = Path.Combine(_dir, "swarm.json");
        File.WriteAllText(swarmFile, File.ReadAllText(swarmFile).Replace("does the work", "does less work"));
        var tampered = await Hivectl(_to, "template", "import", _dir, "--prefix", "u-", "--dry-run");
        Assert.NotEqual(0, tampered.ExitCode);
        Assert.Contains("swarm.json does not match its hash in manifest.json", tampered.Stderr);
    }

    [Fact]
    public async Task A_template_with_an_unknown_preset_a_parent_cycle_or_an_unsealed_file_is_refused_and_makes_nothing()
    {
        var (agents, approvals) = (Count(_to, "agents"), Count(_to, "approvals"));

        var unknown = await ImportAsync(Sealed(new { agents = new object[] { new { name = "solo", preset = "no-such-preset", driver = "process" } } }));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Contains("unknown preset no-such-preset", Problem.Of(unknown.Body).Detail);

        var cycle = await ImportAsync(Sealed(new
        {
            agents = new object[]
            {
                new { name = "ann", parent = "bea", driver = "process", command = new[] { "sleep", "1000" } },
                new { name = "bea", parent = "ann", driver = "process", command = new[] { "sleep", "1000" } },
            },
        }));
        Assert.Equal(HttpStatusCode.BadRequest, cycle.Status);
        Assert.Contains("parent links make a cycle", Problem.Of(cycle.Body).Detail);

        var extra = Sealed(new { agents = new object[] { new { name = "solo", driver = "process", command = new[] { "sleep", "1000" } } } });
        extra["presets/sneaked.json"] = Preset;
        var unsealed = await ImportAsync(extra);
        Assert.Equal(HttpStatusCode.BadRequest, unsealed.Status);
        Assert.Contains("presets/sneaked.json is not in manifest.json", Problem.Of(unsealed.Body).Detail);

        var badField = await ImportAsync(Sealed(new { agents = new object[] { new { name = "solo", driver = "process", comand = new[] { "sleep" } } } }));
        Assert.Equal(HttpStatusCode.BadRequest, badField.Status);
        Assert.Contains("comand", Problem.Of(badField.Body).Detail);

        Assert.Equal((agents, approvals), (Count(_to, "agents"), Count(_to, "approvals")));
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> ImportAsync(Dictionary<string, string> files) =>
        await PostAsync(_to.Http, "/api/templates/import", new { files, prefix = "x-" });

    /// <summary>
    /// A template made by hand, sealed as the manifest's format says (each file's SHA-256; the hash over the sorted
    /// <c>path sha256</c> lines), so only what is under test is wrong with it.
    /// </summary>
    private static Dictionary<string, string> Sealed(object swarm)
    {
        var files = new Dictionary<string, string> { ["swarm.json"] = JsonSerializer.Serialize(swarm) };
        static string Sha(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        var sums = files.ToDictionary(f => f.Key, f => Sha(f.Value));
        var hash = Sha(string.Concat(sums.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} {s.Value}\n")));
        files["manifest.json"] = JsonSerializer.Serialize(new { format = "hive-template/1", name = "handmade", files = sums, secrets = Array.Empty<string>(), hash });
        return files;
    }
}
