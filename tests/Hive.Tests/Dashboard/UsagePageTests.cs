using System.Globalization;
using System.Text.RegularExpressions;
using Hive.Features.Containers.Runtime;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// Usage on the page: a running agent's usage meter on its row (memory of its cap as a bar, CPU %, pids) and the
/// hive's totals in the governance section, both following <c>agent_usage</c> live, in a real browser against a real host
/// whose agents run in real cgroups; and at 390 px nothing scrolls sideways.
/// </summary>
[Collection(Hive.Tests.Features.Containers.CpuMeasuredCollection.Name)]
public sealed class UsagePageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _errors = [];

    public async Task InitializeAsync() =>
        _hive = await HiveInstance.StartAsync([], "--Hive:Containers:UsageSeconds", "0.2", "--Hive:Containers:Limits:CpuPercent", "50");

    public async Task DisposeAsync()
    {
        if (_context is not null) await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    private async Task OpenAsync(int width, int height)
    {
        if (_context is not null) await _context.CloseAsync();
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        _page.Console += (_, message) => { if (message.Type == "error") lock (_errors) _errors.Add($"{message.Text} ({message.Location})"); };
        _page.PageError += (_, error) => { lock (_errors) _errors.Add(error); };
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
    }

    private Task ScreenshotAsync(string name) => Screenshots.SaveAsync(_page, name);

    private ILocator Meter(string agent) => _page.Locator($"#agents > li[data-agent={agent}] .usage");

    [Fact]
    public async Task A_running_agents_meter_appears_and_follows_its_usage_live_with_the_hives_totals()
    {
        const string name = "spinner";
        // Idle until the test says go, then busy: the change must reach the open page without a reload.
        var created = await _hive.Http.PostAsJsonAsync("/api/agents", new
        {
            name, driver = "process",
            command = new[] { "/bin/sh", "-c", "while [ ! -e go ]; do sleep 0.2; done; while :; do :; done" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await OpenAsync(1280, 900);
        if (!_hive.Service<AgentCgroups>().LimitsOn)
        {
            await Expect(_page.Locator($"#agents > li[data-agent={name}] .usage-off")).ToHaveTextAsync("limits off");
            await Expect(_page.Locator("#governance-usage")).ToContainTextAsync("Resource limits are off");
            return;
        }

        var meter = Meter(name);
        await Expect(meter).ToBeVisibleAsync();
        await Expect(meter.Locator(".bar[role=meter]")).ToHaveAttributeAsync("aria-valuemax", "4096");
        await Expect(meter.Locator(".usage-pids")).ToContainTextAsync("/ 1024 pids");
        await Expect(meter.Locator(".usage-cpu")).ToContainTextAsync("/ 50 %");
        Assert.True(double.Parse((await meter.GetAttributeAsync("data-cpu"))!, CultureInfo.InvariantCulture) < 20);

        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", name, "state", "go"), "");
        // The busy loop under its 50 % cap: the row's figure and the hive's total both move, from events alone. How near the
        // cap it gets is the machine's to say (a loaded one gives it a fifth); never over it, bar the sampling's slack.
        await _page.WaitForFunctionAsync($"() => +document.querySelector('#agents > li[data-agent={name}] .usage')?.dataset.cpu >= 10");
        await Expect(meter.Locator(".usage-cpu")).ToHaveTextAsync(new Regex(@"^CPU ([1-5]\d|6[0-5]) / 50 %$"));
        await _page.WaitForFunctionAsync("() => +document.querySelector('#governance-usage .amount')?.dataset.cpu >= 10");
        await Expect(_page.Locator("#governance-usage .amount")).ToContainTextAsync("1 running");
        await ScreenshotAsync("usage-1280.png");

        // Stopped, its meter goes (no stale figures), and the totals drop it.
        using var stopped = await _hive.Http.PostAsync($"/api/agents/{name}/stop", null);
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        await Expect(meter).ToHaveCountAsync(0);
        await Expect(_page.Locator("#governance-usage .amount")).ToContainTextAsync("0 running");

        // At 390 px the row and the section fit: nothing scrolls sideways.
        using var started = await _hive.Http.PostAsync($"/api/agents/{name}/start", null);
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        await OpenAsync(390, 844);
        await Expect(Meter(name)).ToBeVisibleAsync();
        Assert.True(await _page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390px");
        await ScreenshotAsync("usage-390.png");
        lock (_errors) Assert.Empty(_errors);
    }
}
