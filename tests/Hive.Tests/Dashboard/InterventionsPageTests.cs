using System.Text.RegularExpressions;
using Hive.Tests.Architecture;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The Interventions section in a real browser against a real host. It loads
/// itself from GET /api/interventions (not in /api/state) and follows intervention_recorded; Revert asks first, and a
/// refusal stays beside its row. Each test has a hive of its own: alice, bob and carol.
/// </summary>
public sealed class InterventionsPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _consoleErrors = [];
    private readonly List<string> _pageErrors = [];

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob", "carol"]);
        await NewPageAsync(1280, 900);
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    private async Task NewPageAsync(int width, int height)
    {
        if (_context is not null) await _context.CloseAsync();
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        _page.Console += (_, message) => { if (message.Type == "error") lock (_consoleErrors) _consoleErrors.Add($"{message.Text} ({message.Location})"); };
        _page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
    }

    private async Task OpenAsync()
    {
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
        await Expect(_page.Locator("#interventions-panel")).ToBeVisibleAsync();
    }

    private ILocator Row(long id) => _page.Locator($"#interventions > li[data-id='{id}']");

    private async Task PostOkAsync(string path)
    {
        using var response = await _hive.Http.PostAsync(path, null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The newest intervention on <paramref name="agent"/>, as the API lists it.</summary>
    private async Task<JsonElement> LatestAsync(string agent) => (await _hive.GetJsonAsync($"/api/interventions?agent={agent}"))[0];

    private async Task<string[]> PausedAsync() =>
        [.. (await _hive.GetJsonAsync("/api/governance")).GetProperty("paused").EnumerateArray().Select(p => p.GetProperty("agent").GetString()!)];

    [Fact]
    public async Task A_pause_appears_live_revert_asks_first_resumes_the_agent_and_a_second_revert_is_refused_beside_its_row()
    {
        await OpenAsync();
        await Expect(_page.Locator("#interventions-empty")).ToBeVisibleAsync();

        // A pause over HTTP appears at once, newest first: who, authority, what, on whom, before → after.
        await PostOkAsync("/api/governance/agents/bob/pause");
        var pause = await LatestAsync("bob");
        var pauseId = pause.GetProperty("id").GetInt64();
        var row = Row(pauseId);
        await Expect(row).ToBeVisibleAsync();
        await Expect(_page.Locator("#interventions > li").First).ToHaveAttributeAsync("data-id", pauseId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(row).ToHaveAttributeAsync("data-action", "pause");
        await Expect(row.Locator(".actor")).ToHaveTextAsync("operator");
        await Expect(row.Locator(".badge.authority")).ToHaveTextAsync("guardian");
        await Expect(row.Locator(".action")).ToHaveTextAsync("paused");
        await Expect(row.Locator(".target")).ToHaveTextAsync("bob");
        await Expect(row.Locator(".change")).ToHaveTextAsync("paused: no → yes");
        await Expect(row).ToHaveAttributeAsync("data-reverted", "");
        await Expect(_page.Locator("#interventions-empty")).ToBeHiddenAsync();

        // Revert asks first: Cancel changes nothing.
        await row.Locator("button.revert").ClickAsync();
        await Expect(row.Locator("button.confirm-revert")).ToBeVisibleAsync();
        await row.Locator("button.cancel-revert").ClickAsync();
        await Expect(row.Locator("button.confirm-revert")).ToHaveCountAsync(0);
        Assert.Equal(["bob"], await PausedAsync());

        // Confirmed, bob is resumed, the row says by which intervention, and the resume is the newest row.
        await row.Locator("button.revert").ClickAsync();
        await row.Locator("button.confirm-revert").ClickAsync();
        await Expect(row).Not.ToHaveAttributeAsync("data-reverted", "");
        Assert.Empty(await PausedAsync());
        var resume = await LatestAsync("bob");
        var resumeId = resume.GetProperty("id").GetInt64();
        Assert.Equal("resume", resume.GetProperty("action").GetString());
        await Expect(row).ToHaveAttributeAsync("data-reverted", resumeId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(row.Locator(".badge.reverted-badge")).ToHaveTextAsync($"reverted by #{resumeId}");
        await Expect(row.Locator("button.revert")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#interventions > li").First).ToHaveAttributeAsync("data-id", resumeId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(Row(resumeId).Locator(".reason")).ToHaveTextAsync($"revert of intervention {pauseId}");
        await Expect(Row(resumeId).Locator("button.revert")).ToBeVisibleAsync();

        // Reverted elsewhere (hivectl, another tab) while this page has not heard yet: its list reload is held back, so
        // the row still offers Revert, and the host's conflict shows beside it through the problem helper.
        await PostOkAsync("/api/governance/agents/carol/pause");
        var carolsId = (await LatestAsync("carol")).GetProperty("id").GetInt64();
        var carols = Row(carolsId);
        await Expect(carols.Locator("button.revert")).ToBeVisibleAsync();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _page.RouteAsync(new Regex(@"/api/interventions\?"), async route => { await gate.Task; await route.ContinueAsync(); });
        await PostOkAsync($"/api/interventions/{carolsId}/revert");
        Assert.Empty(await PausedAsync());
        await carols.Locator("button.revert").ClickAsync();
        await carols.Locator("button.confirm-revert").ClickAsync();
        var error = carols.Locator(".action-error");
        await Expect(error).ToBeVisibleAsync();
        await Expect(error).ToContainTextAsync($"intervention {carolsId} was reverted already");
        await Expect(error).ToContainTextAsync("(409)");
        Assert.Empty(await PausedAsync()); // the refused revert did nothing

        // Heard at last: the row is marked reverted, and its error stays until dismissed.
        gate.SetResult();
        await _page.UnrouteAllAsync();
        await Expect(carols).Not.ToHaveAttributeAsync("data-reverted", "");
        await Expect(error).ToBeVisibleAsync();
        await error.Locator("button.dismiss").ClickAsync();
        await Expect(carols.Locator(".action-error")).ToBeHiddenAsync();
        Assert.Empty(_pageErrors);
        // The only console errors are the browser's own line for the refused request.
        Assert.All(_consoleErrors, e => Assert.Contains("409", e));
    }

    [Fact]
    public async Task The_section_fits_at_1280_and_390_pixels_and_shows_a_budget_change_compactly()
    {
        using (var put = await _hive.Http.PutAsJsonAsync("/api/governance/budgets/alice", new { daily_usd = 2.5, monthly_tokens = 2_000_000 }))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        await PostOkAsync("/api/governance/agents/bob/pause");
        using (var halt = await _hive.Http.PostAsJsonAsync("/api/governance/halt", new { })) Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
        await OpenAsync();
        await Expect(_page.Locator("#interventions > li")).ToHaveCountAsync(3);
        var budget = _page.Locator("#interventions > li[data-action=budget_set]");
        await Expect(budget.Locator(".action")).ToHaveTextAsync("set the budget of");
        await Expect(budget.Locator(".change")).ToHaveTextAsync(["daily usd: none → 2.5", "monthly tokens: none → 2000000"]);
        await Expect(_page.Locator("#interventions > li[data-action=halt] .change")).ToHaveTextAsync("halted: no → yes");
        await Expect(_page.Locator("#interventions-count")).ToHaveTextAsync("(3)");
        await _page.Locator("#interventions-panel").ScrollIntoViewIfNeededAsync();
        await ScreenshotAsync("interventions-1280.png");

        await NewPageAsync(390, 844);
        await OpenAsync();
        await Expect(_page.Locator("#interventions > li")).ToHaveCountAsync(3);
        await _page.Locator("#interventions > li[data-action=halt] button.revert").ClickAsync(); // the confirm step, open
        await Expect(_page.Locator("#interventions > li[data-action=halt] button.confirm-revert")).ToBeVisibleAsync();
        Assert.True(await _page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390px");
        var outside = await _page.EvaluateAsync<string[]>("""
            () => {
              const box = document.getElementById('interventions-panel').getBoundingClientRect();
              return [...document.querySelectorAll('#interventions-panel button, #interventions-panel .change, #interventions-panel .badge')]
                .filter(e => { const r = e.getBoundingClientRect(); return r.left < box.left - 0.5 || r.right > box.right + 0.5; })
                .map(e => e.className);
            }
            """);
        Assert.True(outside.Length == 0, $"at 390px outside the section: {string.Join("; ", outside)}");
        await _page.Locator("#interventions-panel").ScrollIntoViewIfNeededAsync();
        await ScreenshotAsync("interventions-390.png");
        Assert.Empty(_pageErrors);
        Assert.Empty(_consoleErrors);
    }

    private Task ScreenshotAsync(string name) => Screenshots.SaveAsync(_page, name);
}
