using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// "The dashboard, for a person": plain-English labels, the agents given the room, what waits for the
/// operator counted in the header and the title, the message flow's filter, sign-out. Each test counts what its whole
/// page shows, so each has a hive of its own (a fast reminder tick, so a reminder's message is a system notice soon).
/// </summary>
public sealed class OperatorPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _consoleErrors = [];
    private readonly List<string> _pageErrors = [];

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob", "carol"], "--Hive:Reminders:TickSeconds", "0.2");
        await NewPageAsync(1280, 800);
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
        _page = await NewTabAsync();
    }

    private async Task<IPage> NewTabAsync()
    {
        var page = await _context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        page.Console += (_, message) => { if (message.Type == "error") lock (_consoleErrors) _consoleErrors.Add($"{message.Text} ({message.Location})"); };
        page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        return page;
    }

    private async Task OpenAsync(IPage? page = null)
    {
        page ??= _page;
        await page.GotoAsync(_hive.SignInUrl!.ToString());
        await page.UntilLiveAsync();
    }

    private ILocator Flow(string text) => _page.Locator("#flow > li").Filter(new() { HasText = text });

    [Fact]
    public async Task Labels_are_plain_english_without_leetspeak()
    {
        await using (var alice = await _hive.ConnectAsync("alice"))
        {
            await alice.CallAsync(new { op = "ask", question = "bob, which branch?", to = "bob" });
            await alice.CallAsync(new { op = "remind", body = "later", in_seconds = 3600 });
        }
        await OpenAsync();
        await _page.Locator("#questions-pending > li").First.WaitForAsync();
        await _page.Locator("#spawn-box summary").ClickAsync();
        await _page.Locator("#secret-box summary").ClickAsync();

        // Every heading, button, summary, label, option, placeholder and title the page shows.
        var labels = await _page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('h1, h2, h3, button, summary, label, option, [title], [placeholder], [aria-label]')]
              .flatMap(e => [e.matches('[title]') ? e.title : null, e.getAttribute('placeholder'), e.getAttribute('aria-label'),
                             e.matches('h1, h2, h3, button, summary, label, option') ? e.textContent : null])
              .filter(t => t)
            """);
        Assert.True(labels.Length > 60, $"only {labels.Length} labels found");
        // Leetspeak writes digits for letters inside a word (H1V3, 4PPR0V4LS, 0V3RR1D3); "24 hours" or "1 KiB" does not.
        var leet = new Regex(@"\b(?=\w*[A-Za-z])(?=\w*[0-9])[A-Za-z0-9]*[A-Za-z][0-9][A-Za-z0-9]*\b|\b[0-9][A-Za-z]{2,}");
        // Not words: ISO times in titles, and "24h", the turn stats' unit.
        var words = labels.Select(l => Regex.Replace(l, @"\d{4}-\d\d-\d\dT[\d:.]+Z", "").Replace("24h", "")).ToList();
        Assert.DoesNotContain(words, w => leet.IsMatch(w));
        foreach (var heading in new[] { "Agents", "Approvals", "Questions", "Inbox", "Reminders", "Message flow", "Destroyed agents", "Secrets" })
            await Expect(_page.Locator("h2", new() { HasTextRegex = new Regex($"^◆ {heading}( |$)") })).ToHaveCountAsync(1);
        await Expect(_page.Locator("#questions-pending button[type=submit]")).ToHaveTextAsync("Answer instead");
        await Expect(_page.Locator("#reminders button.cancel")).ToHaveTextAsync("Cancel");
        Assert.Equal("Hive", (await _page.Locator("h1").TextContentAsync())!.Replace("◆", "").Trim());
    }

    /// <summary>Every element of the page lies within the viewport's width, and every control of a form within its form.</summary>
    private async Task AssertNothingOverflowsAsync(int width)
    {
        Assert.True(await _page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= window.innerWidth"),
            $"the page scrolls sideways at {width}px");
        var outside = await _page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('form')].filter(f => f.offsetParent !== null).flatMap(form => {
              const box = form.getBoundingClientRect();
              return [...form.querySelectorAll('input, select, textarea, button, label')]
                .filter(e => e.offsetParent !== null)
                .filter(e => { const r = e.getBoundingClientRect(); return r.left < box.left - 0.5 || r.right > box.right + 0.5; })
                .map(e => `${form.id || form.className} ${e.tagName.toLowerCase()}[name=${e.name ?? ''}] ${e.textContent.trim().slice(0, 20)}`);
            })
            """);
        Assert.True(outside.Length == 0, $"at {width}px outside their form: {string.Join("; ", outside)}");
    }

    [Fact]
    public async Task At_1280_and_1024_pixels_the_agents_get_the_room_and_nothing_overflows()
    {
        await using (var alice = await _hive.ConnectAsync("alice"))
            await alice.SendAsync("bob", "a line in the flow, long enough to fill a little of it: " + new string('x', 200));
        foreach (var (width, height) in new[] { (1280, 800), (1024, 800), (390, 844) })
        {
            await NewPageAsync(width, height);
            await OpenAsync();
            await Flow("a line in the flow").WaitForAsync();
            await _page.Locator("#spawn-box summary").ClickAsync();
            await _page.Locator("#secret-box summary").ClickAsync();
            await _page.Locator("#agents > li[data-agent=alice]").WaitForAsync();
            await AssertNothingOverflowsAsync(width);

            var swarm = (await _page.Locator("#swarm").BoundingBoxAsync())!;
            var approvals = (await _page.Locator("#approvals-panel").BoundingBoxAsync())!;
            var tombstones = (await _page.Locator("#tombstones-panel").BoundingBoxAsync())!;
            if (width >= 1024)
            {
                // Two columns: the agents take most of the width, approvals and destroyed agents sit in the narrower one.
                Assert.True(swarm.Width > width * 0.55, $"the agents are {swarm.Width}px wide at {width}px");
                Assert.True(approvals.Width < swarm.Width / 1.5, $"approvals {approvals.Width}px beside agents {swarm.Width}px");
                Assert.True(approvals.X > swarm.X + swarm.Width, "approvals sit beside the agents");
                Assert.True(Math.Abs(approvals.Y - swarm.Y) < 2, "both columns start at the top");
            }
            // Empty, the destroyed agents are their heading and count: one line.
            await Expect(_page.Locator("#tombstones-count")).ToHaveTextAsync("(0)");
            Assert.True(tombstones.Height < 50, $"the empty destroyed-agents section is {tombstones.Height}px tall");
        }
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task The_header_and_title_count_the_questions_and_approvals_that_wait_for_the_operator_live()
    {
        await OpenAsync();
        var questions = _page.Locator("#waiting-questions");
        var approvals = _page.Locator("#waiting-approvals");
        await Expect(questions).ToHaveTextAsync("0 questions");
        await Expect(approvals).ToHaveTextAsync("0 approvals");
        await Expect(_page).ToHaveTitleAsync("Hive");

        await using var alice = await _hive.ConnectAsync("alice");
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "bob, which branch?", to = "bob" })); // not the operator's
        await _page.Locator("#questions-pending > li").WaitForAsync();
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "may I ship?" }));
        await Expect(questions).ToHaveTextAsync("1 question");
        await Expect(questions).ToHaveAttributeAsync("data-count", "1");
        await Expect(_page).ToHaveTitleAsync("(1) Hive");

        await using var manager = await _hive.ConnectAsync("manager");
        var approval = AgentClient.Ok(await manager.CallAsync(new { op = "request_spawn", name = "scout", purpose = "looks around", command = new[] { "/bin/sleep", "1000" }, driver = "process" }))
            .GetProperty("approval_id").GetInt64();
        await Expect(approvals).ToHaveTextAsync("1 approval");
        await Expect(_page).ToHaveTitleAsync("(2) Hive");

        // Answered from the page: the count goes back down.
        var row = _page.Locator("#questions-pending > li").Filter(new() { HasText = "may I ship?" });
        await row.Locator("input[name=answer]").FillAsync("yes");
        await row.Locator("button[type=submit]").ClickAsync();
        await Expect(questions).ToHaveTextAsync("0 questions");
        await Expect(_page).ToHaveTitleAsync("(1) Hive");

        using (var deny = await _hive.Http.PostAsJsonAsync($"/api/approvals/{approval}/deny", new { reason = "not now" })) deny.EnsureSuccessStatusCode();
        await Expect(approvals).ToHaveTextAsync("0 approvals");
        await Expect(_page).ToHaveTitleAsync("Hive");

        // A reload counts the same from the snapshot (the peer question still open does not count).
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "and now?" }));
        await Expect(questions).ToHaveTextAsync("1 question");
        await _page.ReloadAsync();
        await _page.UntilLiveAsync();
        await Expect(questions).ToHaveTextAsync("1 question");
        await Expect(_page).ToHaveTitleAsync("(1) Hive");
        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task The_flow_filter_shows_one_agents_messages_hides_system_notices_and_survives_a_reload()
    {
        await using (var alice = await _hive.ConnectAsync("alice"))
        await using (var carol = await _hive.ConnectAsync("carol"))
        {
            await alice.SendAsync("bob", "alice to bob");
            await carol.SendAsync("operator", "carol to you");
            await carol.SendAsync("alice", "carol to alice");
            await alice.CallAsync(new { op = "remind", body = "alice's own reminder", in_seconds = 0.5 });
            await alice.CallAsync(new { op = "send", to = "*", body = "alice to everyone" });
        }
        await OpenAsync();
        await Flow("alice's own reminder").WaitForAsync(); // delivered by the tick: a message from `reminder`
        await Expect(Flow("alice's own reminder")).ToHaveClassAsync(new Regex(@"\bsystem\b"));
        await Expect(_page.Locator("#flow > li")).ToHaveCountAsync(5);

        await _page.Locator("#flow-agent").SelectOptionAsync("carol");
        await Expect(_page.Locator("#flow > li")).ToHaveCountAsync(3); // from carol twice, and the broadcast reached her
        await Expect(Flow("alice to bob")).ToHaveCountAsync(0);
        await Expect(Flow("alice's own reminder")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#flow-count")).ToHaveTextAsync("(3 of 5 shown)");

        await _page.Locator("#flow-agent").SelectOptionAsync("alice");
        await Expect(_page.Locator("#flow > li")).ToHaveCountAsync(4); // all but carol's to the operator
        await _page.Locator("#flow-hide-system").CheckAsync();
        await Expect(Flow("alice's own reminder")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#flow > li")).ToHaveCountAsync(3);

        // Live: a new message follows the filter.
        await using (var bob = await _hive.ConnectAsync("bob"))
        {
            await bob.SendAsync("carol", "bob to carol, not shown");
            await bob.SendAsync("alice", "bob to alice, shown");
        }
        await Flow("bob to alice, shown").WaitForAsync();
        await Expect(Flow("bob to carol, not shown")).ToHaveCountAsync(0);

        await _page.ReloadAsync();
        await _page.UntilLiveAsync();
        await Expect(_page.Locator("#flow-agent")).ToHaveValueAsync("alice");
        await Expect(_page.Locator("#flow-hide-system")).ToBeCheckedAsync();
        await Flow("bob to alice, shown").WaitForAsync();
        await Expect(_page.Locator("#flow > li")).ToHaveCountAsync(4);
        await Expect(Flow("alice's own reminder")).ToHaveCountAsync(0);

        await _page.Locator("#flow-agent").SelectOptionAsync("");
        await _page.Locator("#flow-hide-system").UncheckAsync();
        await Expect(_page.Locator("#flow > li")).ToHaveCountAsync(7);
        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task Sign_out_returns_every_tab_to_the_sign_in_screen_and_the_browser_forgets_the_cookie()
    {
        await OpenAsync();
        var other = await NewTabAsync();
        await other.GotoAsync(_hive.BaseAddress.ToString());
        await other.UntilLiveAsync();
        Assert.Single(await _context.CookiesAsync(), c => c.Name == "hive_session");

        await _page.Locator("#sign-out").ClickAsync();
        await _page.Locator("#sign-in").WaitForAsync();
        await _page.Locator("#connection[data-state=signed-out]").WaitForAsync();
        Assert.True(await _page.Locator("#dashboard").IsHiddenAsync());
        Assert.True(await _page.Locator("#sign-out").IsHiddenAsync());
        Assert.True(await _page.Locator("#waiting").IsHiddenAsync());
        await Expect(_page).ToHaveTitleAsync("Hive");
        Assert.DoesNotContain(await _context.CookiesAsync(), c => c.Name == "hive_session");
        var state = await _page.APIRequest.GetAsync(_hive.BaseAddress + "api/state");
        Assert.Equal((int)HttpStatusCode.Unauthorized, state.Status);
        await state.DisposeAsync();

        // The other tab hears of it and shows the sign-in screen too.
        await other.Locator("#sign-in").WaitForAsync();
        await other.Locator("#connection[data-state=signed-out]").WaitForAsync();

        // Signing in again brings both back.
        await OpenAsync();
        await other.UntilLiveAsync();
        Assert.Empty(_pageErrors);
    }
}
