using Microsoft.Playwright;
using static Hive.Tests.Features.Containers.ContainersKit;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// Issue 44: an agent's network in a real browser: a chip on its row (open in the warning colour), and on its own page its
/// egress rules, edited there as a configuration change whose diff is shown before it is applied, without a restart.
/// </summary>
public sealed class NetworkPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private static readonly string[] Sleeper = ["/bin/sh", "-c", "exec sleep 1000"];
    private HiveInstance _hive = null!;
    private IBrowserContext? _context;
    private readonly List<string> _pageErrors = [];

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync([]);

    public async Task DisposeAsync()
    {
        if (_context is not null) await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    [Fact]
    public async Task The_row_shows_the_network_and_the_agents_page_edits_its_egress_with_the_diff_and_no_restart()
    {
        try
        {
            var walled = await CreateAsync(_hive.Http, new { name = "walled", command = Sleeper, driver = "bubblewrap" });
            await CreateAsync(_hive.Http, new { name = "roaming", command = Sleeper, driver = "process" });

            _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
            var page = await _context.NewPageAsync();
            page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
            SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
            page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
            await page.GotoAsync(_hive.SignInUrl!.ToString());
            await page.Locator("#connection[data-state=live]").WaitForAsync();

            await Expect(page.Locator("#swarm li[data-agent='walled'] .chip.network")).ToHaveTextAsync("sealed");
            var open = page.Locator("#swarm li[data-agent='roaming'] .chip.network");
            await Expect(open).ToHaveTextAsync("open network");
            await Expect(open).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("network-open"));
            Assert.Equal("rgb(242, 193, 78)", await open.EvaluateAsync<string>("e => getComputedStyle(e).color")); // --amber, the warnings' colour

            await page.GotoAsync($"{_hive.BaseAddress}agents/walled");
            await Expect(page.Locator("#ap-network-mode .chip")).ToHaveTextAsync("sealed");
            await Expect(page.Locator("#ap-egress")).ToHaveTextAsync("egress: none");
            await page.Locator("#ap-egress-edit summary").ClickAsync();
            await page.Locator("#ap-egress-rules").FillAsync("github.com:443\nexa*mple.com");
            await page.Locator("#ap-egress-form button.review").ClickAsync();
            await Expect(page.Locator("#ap-egress-error")).ToContainTextAsync("a wildcard goes only at the start");

            await page.Locator("#ap-egress-rules").FillAsync("github.com:443");
            await page.Locator("#ap-egress-form button.review").ClickAsync();
            await Expect(page.Locator("#ap-egress-diff .diff-add")).ToContainTextAsync(["\"github.com:443\""]);
            await page.Locator("#ap-egress-apply").ClickAsync();
            await Expect(page.Locator("#ap-egress")).ToHaveTextAsync("egress: github.com:443");

            var after = (await RowAsync(_hive, "walled"))!.Value;
            Assert.Equal(walled.Pid(), after.Pid());
            Assert.Equal(["github.com:443"], after.GetProperty("egress").EnumerateArray().Select(e => e.GetString()));
            lock (_pageErrors) Assert.Empty(_pageErrors);
        }
        finally
        {
            await DestroyAsync(_hive, "walled");
            await DestroyAsync(_hive, "roaming");
        }
    }
}
