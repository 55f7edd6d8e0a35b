using Hive.Contracts.Agents;
using Hive.Contracts.Json;
using Hive.Features.Containers;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The model provider an agent counts against: named at create, by a spawn (or its preset) or a configuration change,
/// <c>anthropic</c> when none is; on the row, in the meta file, and answered by <see cref="ReadAgentProvider"/>.
/// </summary>
public sealed class AgentProviderTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task An_agent_counts_against_the_provider_it_names_and_anthropic_when_it_names_none()
    {
        try
        {
            var named = await CreateAsync(_hive.Http, new { name = "named", command = Sleeper, driver = "process", provider = "openai" });
            Assert.Equal("openai", named.GetProperty("provider").GetString());
            Assert.Equal("openai", MetaConfig(_hive, "named").Provider);
            Assert.Equal("openai", (await _hive.GetAsync<ReadAgentConfig.View>("/api/agents/named/config")).Config!.Provider);
            Assert.Equal("openai", await ProviderOfAsync("named"));

            var plain = await CreateAsync(_hive.Http, new { name = "plain", command = Sleeper, driver = "process" });
            Assert.Equal("anthropic", plain.GetProperty("provider").GetString());
            Assert.False(MetaFile("plain").TryGetProperty("provider", out _)); // a file that names none reads as before
            Assert.Equal("anthropic", await ProviderOfAsync("plain"));

            var external = await CreateAsync(_hive.Http, new { name = "outside", driver = "external" });
            Assert.Equal("anthropic", external.GetProperty("provider").GetString());
            Assert.Equal("anthropic", await ProviderOfAsync("manager"));
            Assert.Equal("openai", (await RowAsync(_hive, "named"))!.Value.GetProperty("provider").GetString());

            await Assert.ThrowsAsync<NotFoundException>(() => ProviderOfAsync("nobody-here"));
        }
        finally
        {
            foreach (var name in new[] { "named", "plain", "outside" }) await DestroyAsync(_hive, name);
        }
    }

    [Theory]
    [InlineData("OpenAI")]
    [InlineData("")]
    [InlineData("open ai")]
    [InlineData("-openai")]
    public async Task A_badly_named_provider_is_a_validation_problem_and_makes_no_agent(string provider)
    {
        var (status, problem) = await PostAsync(_hive.Http, "/api/agents", new { name = "badly", command = Sleeper, driver = "process", provider });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("validation", Problem.Of(problem).Code);
        Assert.Contains("provider must be", FieldError(problem, "provider"));
        Assert.Null(await RowAsync(_hive, "badly"));
        Assert.False(File.Exists(Path.Combine(_hive.DataDir, "meta", "agents", "badly.json")));
    }

    [Fact]
    public async Task A_configuration_change_moves_the_agent_to_another_provider_and_a_bad_one_changes_nothing()
    {
        const string name = "moving";
        try
        {
            await CreateAsync(_hive.Http, new { name, command = Sleeper, driver = "process" });
            var preview = await PutConfigAsync(name, new { command = Sleeper, driver = "process", provider = "mistral" }, dryRun: true);
            Assert.Contains("+  \"provider\": \"mistral\"", preview.Diff);

            var applied = await PutConfigAsync(name, new { command = Sleeper, driver = "process", provider = "mistral" }, dryRun: false);
            Assert.True(applied.Changed);
            Assert.Equal("mistral", (await RowAsync(_hive, name))!.Value.GetProperty("provider").GetString());
            Assert.Equal("mistral", MetaConfig(_hive, name).Provider);
            Assert.Equal("mistral", await ProviderOfAsync(name));

            using var bad = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config", new { command = Sleeper, driver = "process", provider = "Mistral AI" });
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("provider", await bad.Content.ReadAsStringAsync());
            Assert.Equal("mistral", (await RowAsync(_hive, name))!.Value.GetProperty("provider").GetString());
            Assert.Equal("mistral", MetaConfig(_hive, name).Provider);

            // Nor does a hand edit of the file: the rebuild refuses it and the row keeps what it had.
            var file = Path.Combine(_hive.DataDir, "meta", "agents", name + ".json");
            await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(file)).Replace("\"mistral\"", "\"Mistral AI\""));
            MetaGit.In(_hive.DataDir, "commit", "-q", "-am", "someone edits by hand");
            await using var manager = await _hive.ConnectAsync("manager");
            var rebuilt = await manager.RefusalOfAsync(ManagerVerbs.Rebuild, new TargetArgs(name));
            Assert.Equal("conflict", rebuilt.Code);
            Assert.Contains("provider must match", rebuilt.Error);
            Assert.Equal("mistral", await ProviderOfAsync(name));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_spawn_from_a_preset_that_names_a_provider_counts_against_it_once_approved()
    {
        const string name = "spawned";
        var presets = Path.Combine(_hive.DataDir, "meta", "presets");
        Directory.CreateDirectory(presets);
        File.WriteAllText(Path.Combine(presets, "elsewhere.json"), JsonSerializer.Serialize(new
        {
            description = "a shell that sleeps, counted against another provider", program = "sh", provider = "acme",
            command = new[] { "${program}", "-c", "exec sleep 1000" },
        }));
        await using var manager = await _hive.ConnectAsync("manager");
        try
        {
            var id = (await manager.CallAsync(ManagerVerbs.RequestSpawn, new SpawnArgs(name, "sleeps", null, "process", "elsewhere", null, null, null))).ApprovalId;
            using var approved = await _hive.Http.PostAsync($"/api/approvals/{id}/approve", null);
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            Assert.Equal("acme", (await RowAsync(_hive, name))!.Value.GetProperty("provider").GetString());
            Assert.Equal("acme", await ProviderOfAsync(name));
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    private static readonly string[] Sleeper = ["/bin/sh", "-c", "exec sleep 1000"];

    private async Task<string> ProviderOfAsync(string name)
    {
        await using var scope = _hive.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new ReadAgentProvider.Query(name));
    }

    /// <summary>The agent's file as the meta repo's <c>main</c> holds it.</summary>
    private JsonElement MetaFile(string name) => JsonDocument.Parse(MetaGit.In(_hive.DataDir, "show", $"main:agents/{name}.json")).RootElement.Clone();

    private async Task<ConfigureAgent.ConfigChange> PutConfigAsync(string name, object config, bool dryRun)
    {
        using var response = await _hive.Http.PutAsJsonAsync($"/api/agents/{name}/config{(dryRun ? "?dry_run=true" : "")}", config);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<ConfigureAgent.ConfigChange>(text, HiveJson.Options)!;
    }
}
