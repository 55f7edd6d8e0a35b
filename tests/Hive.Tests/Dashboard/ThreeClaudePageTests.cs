using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Hive.Tests.Architecture;
using Hive.Tests.Cli;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The operator guide's (docs/operator/agents.md) "Run three Claude Code agents", followed as written: the key into the secrets store, <c>hivectl up -f
/// samples/swarm/three-claude.json</c> (the model the fake Messages API, the only change), a message to the manager; the
/// dashboard then shows the three real Claude Code agents running and the manager's turn. Its 1280 px picture is the
/// guide's screenshot (<c>HIVE_UPDATE_SCREENSHOTS=1</c>).
/// </summary>
public sealed class ThreeClaudePageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private readonly string _key = "sk-ant-api03-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;

    public async Task InitializeAsync()
    {
        if (ClaudeCode.Path is not { } claude) return;
        _model = await FakeMessagesApi.StartAsync(_key);
        _hive = await HiveInstance.StartAsync([], "--Hive:Presets:ClaudeCode:Path", claude, "--Hive:Gateway:Providers:anthropic:Upstream", _model.BaseUrl);
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
    }

    public async Task DisposeAsync()
    {
        if (_context is not null) await _context.CloseAsync();
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    [ClaudeCodeFact]
    public async Task Three_claude_code_agents_from_the_sample_swarm_run_and_the_manager_answers()
    {
        // The sample as shipped; the hive's anthropic provider is the fake model.
        var sample = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(FeatureGraphTests.RepoRoot(), "samples", "swarm", "three-claude.json")))!;
        var dir = Directory.CreateTempSubdirectory("hive-three-").FullName;
        try
        {
            var swarm = Path.Combine(dir, "three-claude.json");
            await File.WriteAllTextAsync(swarm, sample.ToJsonString());
            var operatorArgs = new[] { "--url", _hive.BaseAddress.ToString(), "--token", _hive.Token! };
            (await Hivectl.RunAsync([.. operatorArgs, "secrets", "set", "anthropic"], stdin: _key)).Ok();
            var up = (await Hivectl.RunAsync([.. operatorArgs, "up", "-f", swarm], timeout: TimeSpan.FromSeconds(60))).Ok().Stdout;
            foreach (var name in new[] { "manager", "alice", "bob" }) Assert.Contains($"{name}: created", up);

            _model.Enqueue(request => request.ToolResults.Count > 0
                ? ModelReply.Text("Told the operator.")
                : ModelReply.ToolUse("mcp__hive__send", """{"to":"operator","body":"On it: alice writes the word counter, bob reviews it."}"""));
            using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "manager", body = "Write a tiny CLI that counts words, with tests" }))
                sent.EnsureSuccessStatusCode();

            var page = await _context.NewPageAsync();
            page.SetDefaultTimeout(60_000);
            SetDefaultExpectTimeout(60_000);
            await page.GotoAsync(_hive.SignInUrl!.ToString());
            await page.UntilLiveAsync();
            foreach (var name in new[] { "manager", "alice", "bob" })
                await Expect(page.Locator($"#agents > li[data-agent={name}] .badge.state")).ToHaveTextAsync("running");
            await Expect(page.Locator("#inbox")).ToContainTextAsync("alice writes the word counter");
            await Expect(page.Locator("#agents > li[data-agent=manager] .last-turn")).ToContainTextAsync("ok");

            var folder = Screenshots.Folder;
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, "three-claude-1280.png"), FullPage = true });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
