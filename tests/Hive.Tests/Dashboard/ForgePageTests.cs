using Hive.Tests.Features.Forge;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// Each agent row shows its forge account as the sweeps find it, live: a chip when the user and token are
/// there, the failure in the row's own words when a step failed, gone again once a sweep heals it. A hive of its own on
/// a fake Forgejo (faults are per forge).
/// </summary>
public sealed class ForgePageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private ForgeHive _forge = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        _forge = await ForgeHive.StartAsync(["alice"]);
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout(15_000);
        SetDefaultExpectTimeout(15_000);
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _forge.DisposeAsync();
    }

    private ILocator Row(string name) => _page.Locator($"#agents > li[data-agent={name}]");

    [Fact]
    public async Task Each_row_shows_its_forge_account_and_a_failure_until_a_sweep_heals_it()
    {
        await _forge.StartUpSweepAsync();
        await _page.GotoAsync(_forge.Hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
        await Expect(Row("alice").Locator(".chip.forge")).ToHaveTextAsync("forge ✓");
        await Expect(Row("alice").Locator(".forge-error")).ToHaveCountAsync(0);

        _forge.Forge.Reserve("carol");
        Assert.Equal(HttpStatusCode.Created, await _forge.SpawnAsync(new { name = "carol", driver = "external" }));
        var carol = Row("carol");
        await Expect(carol.Locator(".forge-error")).ToContainTextAsync("creating user carol: the forge answered 422");
        await Expect(carol.Locator(".chip.forge")).ToHaveTextAsync("forge: no user");

        _forge.Forge.Heal();
        await _forge.SweepAsync();
        await Expect(carol.Locator(".chip.forge")).ToHaveTextAsync("forge ✓");
        await Expect(carol.Locator(".forge-error")).ToHaveCountAsync(0);
    }
}
