using Microsoft.Playwright;

namespace Hive.Tests.Dashboard;

/// <summary>
/// A push's one-tap confirm page (<c>/act/{token}</c>) in a real browser, as a phone opens it: styled under the page's own
/// Content-Security-Policy (no violation reported), and a link of a decision already made says what was decided.
/// </summary>
public sealed class OneTapPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private PushReceiver _receiver = null!;
    private IBrowserContext _context = null!;
    private readonly List<string> _consoleMessages = [];

    public async Task InitializeAsync()
    {
        _receiver = await PushReceiver.StartAsync();
        _context = await browser.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 390, Height = 844 } });
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _receiver.DisposeAsync();
    }

    private async Task<IPage> NewPageAsync()
    {
        var page = await _context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        // Chromium reports a style or script its policy refused as a console error ("Refused to apply inline style ...").
        page.Console += (_, message) => { lock (_consoleMessages) _consoleMessages.Add($"{message.Type}: {message.Text}"); };
        return page;
    }

    /// <summary>The page's computed style of <paramref name="selector"/>: (font size, font family).</summary>
    private static async Task<(string Size, string Family)> FontOfAsync(IPage page, string selector)
    {
        var font = await page.EvalOnSelectorAsync<string[]>(selector, "e => [getComputedStyle(e).fontSize, getComputedStyle(e).fontFamily]");
        return (font[0], font[1]);
    }

    [Fact]
    public async Task The_confirm_page_is_styled_under_its_own_policy_and_a_spent_link_says_what_was_decided()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"],
            "--Hive:PublicUrl", "https://hive.example.net",
            "--Hive:Notifications:Channels:phone:Type", "ntfy",
            "--Hive:Notifications:Channels:phone:Url", new Uri(_receiver.Url, "/hive-alerts").ToString(),
            "--Hive:Notifications:Kinds:question:DelaySeconds", "0", "--Hive:Notifications:BatchSeconds", "0");
        await using var alice = await hive.ConnectAsync("alice");
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "deploy to prod?", options = new[] { "yes", "no" } }));
        var links = (await _receiver.NextAcceptedAsync()).Json.GetProperty("actions").EnumerateArray()
            .Select(a => new Uri(hive.BaseAddress, new Uri(a.GetProperty("url").GetString()!).PathAndQuery).ToString()).ToList();

        var page = await NewPageAsync();
        var response = await page.GotoAsync(links[0]);
        Assert.Equal(200, response!.Status);
        await page.Locator("form button[type=submit]").WaitForAsync();
        // The page's style applies: not the browser's default 16 px serif, nor its small button.
        Assert.Equal(("18px", "system-ui, sans-serif"), await FontOfAsync(page, "body"));
        Assert.Equal("18px", (await FontOfAsync(page, "button")).Size);
        Assert.True(await page.EvalOnSelectorAsync<double>("button", "e => e.getBoundingClientRect().height") >= 40, "the button is big enough to tap");

        await page.ClickAsync("form button[type=submit]");
        await page.Locator("h1", new() { HasText = "Done" }).WaitForAsync();
        Assert.Equal("18px", (await FontOfAsync(page, "body")).Size);

        // The other option's link, opened after the decision: it says what was decided, by whom.
        var spent = await NewPageAsync();
        var again = await spent.GotoAsync(links[1]);
        Assert.Equal(409, again!.Status);
        var text = await spent.Locator("body").InnerTextAsync();
        Assert.Contains("answered \"yes\" by operator", text);
        Assert.Equal("18px", (await FontOfAsync(spent, "body")).Size);

        lock (_consoleMessages)
            Assert.DoesNotContain(_consoleMessages, m => m.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || m.Contains("Refused", StringComparison.Ordinal));
    }
}
