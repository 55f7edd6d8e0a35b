using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The dashboard's half of search: the Search panel and an agent's own box show hits with their matched
/// words in &lt;mark&gt; (the agent's own page too, its transcript included), agent text as text (markup in a message is never parsed), a refusal in words, and more on demand.
/// </summary>
public sealed class SearchPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob"]);
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 } });
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    /// <summary>Until the index has read everything stored (the page's <c>behind</c> null): it is behind the sends.</summary>
    private Task IndexedAsync() => HiveInstance.UntilAsync(async () =>
        (await _hive.GetJsonAsync("/api/search?q=armadillo")).GetProperty("behind").ValueKind == System.Text.Json.JsonValueKind.Null,
        Deadline, "the index to catch up");

    [Fact]
    public async Task The_search_panel_and_an_agents_box_show_marked_hits_as_text()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        await alice.SendAsync("bob", "the <b>armadillo</b> plan <img src=x onerror=alert(1)>");
        await bob.SendAsync("operator", "an armadillo for the operator");
        for (var i = 0; i < 22; i++) await bob.SendAsync("alice", $"armadillo count {i}");
        await IndexedAsync();

        var page = await _context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        await page.GotoAsync(_hive.SignInUrl!.ToString());
        await page.UntilLiveAsync();

        var panel = page.Locator("#search-panel");
        await panel.Locator("input.search-q").FillAsync("armadillo plan");
        await panel.Locator("button.search-go").ClickAsync();
        var hit = panel.Locator(".search-results > li.search-hit");
        await Expect(hit).ToHaveCountAsync(1);
        await Expect(hit.Locator("mark")).ToHaveTextAsync(["armadillo", "plan"]);
        await Expect(hit.Locator(".search-snippet")).ToContainTextAsync("<b>armadillo</b> plan <img src=x");
        Assert.Equal(0, await hit.Locator("b, img").CountAsync()); // text, never markup
        await Expect(hit).ToHaveAttributeAsync("data-kind", "message");
        await hit.Locator("button.search-show").ClickAsync(); // the message's row in the flow
        await Expect(page.Locator("#flow > li.found")).ToContainTextAsync("armadillo</b> plan");

        // A page at a time: 20, then the rest.
        await panel.Locator("input.search-q").FillAsync("armadillo");
        await panel.Locator("button.search-go").ClickAsync();
        await Expect(hit).ToHaveCountAsync(20);
        await panel.Locator("button.search-more").ClickAsync();
        await Expect(hit).ToHaveCountAsync(24);
        await Expect(panel.Locator("button.search-more")).ToBeHiddenAsync();

        // A refusal says why.
        await panel.Locator("input.search-q").FillAsync("\"\" *");
        await panel.Locator("button.search-go").ClickAsync();
        await Expect(panel.Locator(".search-status")).ToContainTextAsync("at least one word");

        // The agent's own box only finds what it wrote or was sent.
        var aliceRow = page.Locator("#agents > li[data-agent='alice']");
        await aliceRow.Locator("details.search-agent > summary").ClickAsync();
        await aliceRow.Locator("input.search-q").FillAsync("operator");
        await aliceRow.Locator("button.search-go").ClickAsync();
        await Expect(aliceRow.Locator(".search-status")).ToHaveTextAsync("Nothing found.");
        var bobRow = page.Locator("#agents > li[data-agent='bob']");
        await bobRow.Locator("details.search-agent > summary").ClickAsync();
        await bobRow.Locator("input.search-q").FillAsync("operator");
        await bobRow.Locator("button.search-go").ClickAsync();
        await Expect(bobRow.Locator(".search-results > li.search-hit")).ToHaveCountAsync(1);

        // The agent's own page searches its texts, its transcript included, and Show finds the transcript entry.
        AgentClient.Ok(await bob.CallAsync(new { op = "transcript", entries = new[] { new { kind = "text", text = "the wombat is in the logs" } } }));
        await IndexedAsync();
        await page.GotoAsync(new Uri(_hive.BaseAddress, "/agents/bob").ToString());
        await page.UntilLiveAsync();
        var agentSearch = page.Locator("#ap-search-panel");
        await agentSearch.Locator("input.search-q").FillAsync("wombat");
        await agentSearch.Locator("button.search-go").ClickAsync();
        var found = agentSearch.Locator(".search-results > li.search-hit");
        await Expect(found).ToHaveCountAsync(1);
        await Expect(found).ToHaveAttributeAsync("data-kind", "transcript");
        await found.Locator("button.search-show").ClickAsync();
        await Expect(page.Locator("#ap-transcript > li.found")).ToContainTextAsync("wombat");
    }
}
