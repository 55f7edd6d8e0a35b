using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Tests.Architecture;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The operator's page in a real browser against a real host on a real port. The page shows the whole hive, so the
/// tests that share the class's hive look only at rows of their own agents; a test that counts what the whole page
/// shows starts a hive of its own.
/// </summary>
public sealed class DashboardPageTests(BrowserFixture browser, DashboardPageTests.Fixture fixture)
    : SharedHiveTests(fixture), IClassFixture<BrowserFixture>, IClassFixture<DashboardPageTests.Fixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private static readonly string[] Args = ["--Hive:Reminders:TickSeconds", "0.2", "--Hive:Reminders:MaxAttempts", "1"];

    /// <summary>The class's hive: a fast tick and one attempt, as the page's reminder rows are tested with.</summary>
    public sealed class Fixture : HiveFixture
    {
        protected override string[] Args => DashboardPageTests.Args;
    }

    private readonly HiveInstance _hive = fixture.Hive;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private int _stateRequests;
    private readonly List<string> _consoleErrors = [];

    private readonly List<HiveInstance> _ownHives = [];

    public async Task InitializeAsync() => await NewPageAsync(1280, 900);

    /// <summary>
    /// A hive of this test's own, with alice (and her plan) and bob, for a test that counts what the whole page shows.
    /// It is stopped after the page is closed, when the test ends.
    /// </summary>
    private async Task<HiveInstance> OwnHiveAsync()
    {
        var hive = await HiveInstance.StartAsync(["alice", "bob"], Args);
        _ownHives.Add(hive);
        await File.WriteAllTextAsync(Path.Combine(hive.DataDir, "agents", "alice", "state", "plan.md"), "# the plan\nstep one: ship it");
        return hive;
    }

    /// <summary>Two agents of this test's own on the class's hive; alice has a plan in her state dir.</summary>
    private async Task<(string Alice, string Bob)> AgentsAsync()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob");
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "agents", names[0], "state", "plan.md"), "# the plan\nstep one: ship it");
        return (names[0], names[1]);
    }

    private async Task NewPageAsync(int width, int height)
    {
        if (_context is not null) await _context.CloseAsync();
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        _page = await _context.NewPageAsync();
        _stateRequests = 0;
        _page.Request += (_, request) => { if (new Uri(request.Url).AbsolutePath == "/api/state") Interlocked.Increment(ref _stateRequests); };
        _page.Console += (_, message) => { if (message.Type == "error") lock (_consoleErrors) _consoleErrors.Add($"{message.Text} ({message.Location})"); };
        _page.Dialog += async (_, dialog) => await dialog.AcceptAsync(); // destructive actions ask once: say yes
        _page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        foreach (var hive in _ownHives) await hive.DisposeAsync();
    }

    /// <summary>Signs in as a person does, by opening the link the host printed, and waits until the page is live.</summary>
    private async Task OpenAsync(HiveInstance? hive = null)
    {
        hive ??= _hive;
        var response = await _page.GotoAsync(hive.SignInUrl!.ToString());
        Assert.Equal(hive.BaseAddress.ToString(), response!.Url); // redirected to the page: the token left the address bar
        await _page.UntilLiveAsync();
    }

    private ILocator Row(string list, string text) => _page.Locator($"#{list} > li").Filter(new LocatorFilterOptions { HasText = text });

    [Fact]
    public async Task Cold_loads_the_state_exactly_once_and_stays_live()
    {
        var (aliceName, bobName) = await AgentsAsync();
        await OpenAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        await using var bob = await _hive.ConnectAsync(bobName);

        await alice.SendAsync(bobName, "live without a reload");
        await Row("flow", "live without a reload").WaitForAsync();
        await bob.RecvAndAckAsync(); // the ✓ follows the acknowledgement
        await Row("flow", "live without a reload").Locator(".delivered", new() { HasText = "✓" }).WaitForAsync();

        await bob.SendAsync("operator", "for your inbox");
        await Row("inbox", "for your inbox").WaitForAsync();

        await alice.CallAsync(new { op = "remind", body = "tick tock", in_seconds = 3600 });
        await Row("reminders", "tick tock").WaitForAsync();
        await _page.Locator($"#agents li[data-agent={aliceName}] .chip.reminders", new() { HasText = "1 reminder" }).WaitForAsync();

        await alice.CallAsync(new { op = "ask", question = "are we there yet?" });
        await _page.Locator($"#agents li[data-agent={aliceName}] .badge.waiting", new() { HasText = "waiting on operator" }).WaitForAsync();

        // The send form: the operator's message reaches the agent's socket.
        await _page.SelectOptionAsync("#send-to", bobName);
        await _page.FillAsync("#send-body", "from the page");
        await _page.ClickAsync("#send-button");
        var received = await bob.RecvAsync(waitMs: 5_000);
        Assert.Equal("from the page", received!.Value.GetProperty("body").GetString());
        await _page.Locator(".toast", new() { HasText = $"sent to {bobName}" }).WaitForAsync();
        await Row("flow", "from the page").WaitForAsync();

        Assert.Equal(1, _stateRequests);
        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task Answering_a_question_from_the_page_reaches_the_askers_socket()
    {
        var (aliceName, _) = await AgentsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        await alice.CallAsync(new { op = "ask", question = "may I deploy?" });
        await OpenAsync();

        var row = Row("questions-pending", "may I deploy?");
        await row.Locator("input[name=answer]").FillAsync("yes, go");
        await row.Locator("button[type=submit]").ClickAsync();

        var answer = await alice.RecvAsync(waitMs: 5_000);
        Assert.Equal("answer", answer!.Value.GetProperty("kind").GetString());
        Assert.Equal("yes, go", answer.Value.GetProperty("body").GetString());
        await row.WaitForAsync(new() { State = WaitForSelectorState.Detached });
        await _page.Locator("#questions-history-box summary").ClickAsync();
        await Row("questions-answered", "may I deploy?").Locator(".answerer", new() { HasText = "operator:" }).WaitForAsync();
        Assert.Equal(1, _stateRequests);
    }

    [Fact]
    public async Task The_operator_overrides_a_peer_question_and_filter_chips_select_rows()
    {
        var (aliceName, bobName) = await AgentsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        await alice.CallAsync(new { op = "ask", question = "bob, which branch?", to = bobName });
        await alice.CallAsync(new { op = "ask", question = "operator, coffee?" });
        await OpenAsync();

        await _page.ClickAsync("#question-filters button[data-filter=peer]");
        await Row("questions-pending", "operator, coffee?").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        var peer = Row("questions-pending", "bob, which branch?");
        Assert.Contains("peer", await peer.GetAttributeAsync("class"));
        await peer.Locator("input[name=answer]").FillAsync("main");
        await peer.Locator("button", new() { HasText = "Answer instead" }).ClickAsync();

        var answer = await alice.RecvAsync(waitMs: 5_000);
        Assert.Equal("operator", answer!.Value.GetProperty("from").GetString());
        await _page.ClickAsync("#question-filters button[data-filter=operator]");
        await Row("questions-pending", "operator, coffee?").WaitForAsync();
        Assert.Equal("operator", _hive.QueryDb<string>("SELECT answerer FROM questions WHERE target = @bobName", new { bobName }));
    }

    [Fact]
    public async Task Cancel_and_retry_work_and_the_rows_update()
    {
        var hive = await OwnHiveAsync(); // the page's "⚠ N failed" counts every failed reminder of the hive
        await using var alice = await hive.ConnectAsync("alice");
        await alice.CallAsync(new { op = "remind", body = "cancel me", in_seconds = 3600 });
        var brief = Path.Combine(hive.DataDir, "agents", "alice", "state", "brief.md");
        await File.WriteAllTextAsync(brief, "brief");
        var failing = (await alice.CallAsync(new { op = "remind", body = "doomed", in_seconds = 5, payload_path = "/agents/alice/state/brief.md" }))
            .GetProperty("id").GetInt64();
        File.Delete(brief);
        await OpenAsync(hive);
        await using var events = await hive.OpenEventsAsync();

        await Row("reminders", "cancel me").Locator("button.cancel").ClickAsync();
        await Row("reminders", "cancel me").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        Assert.Equal(0, hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE body = 'cancel me'"));

        var doomed = _page.Locator("#reminders > li.failed").Filter(new() { HasText = "doomed" });
        await doomed.Locator(".error", new() { HasText = "no longer a readable state file" }).WaitForAsync(new() { Timeout = 30_000 }); // due 5 s after it was set
        await _page.Locator("#reminders-failed", new() { HasText = "⚠ 1 failed" }).WaitForAsync();

        await doomed.Locator("button.retry").ClickAsync();
        // The action's toast first: it fades after 3.5 s, and when the request failed it is what says why (its text).
        await Expect(_page.Locator(".toast").Last).ToHaveTextAsync($"reminder {failing} will be retried", new() { Timeout = 15_000 });
        await events.WaitForAsync("reminder_reset", e => e.GetProperty("reminder").GetProperty("id").GetInt64() == failing);
        await events.WaitForAsync("reminder_failed", e => e.GetProperty("id").GetInt64() == failing);
        await doomed.Locator(".error").WaitForAsync();
        Assert.Equal(1, _stateRequests);
    }

    [Fact]
    public async Task A_file_ref_expands_to_the_files_content_and_html_in_bodies_stays_text()
    {
        var (aliceName, bobName) = await AgentsAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        await alice.SendAsync(bobName, $"the plan: /agents/{aliceName}/state/plan.md. and /etc/passwd");
        await alice.SendAsync(bobName, "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>");
        await OpenAsync();

        var row = Row("flow", "the plan:");
        Assert.Equal(1, await row.Locator("details.ref").CountAsync()); // the escape is not a link
        await row.Locator("details.ref summary").ClickAsync();
        await row.Locator(".ref-body", new() { HasText = "step one: ship it" }).WaitForAsync();

        var hostile = Row("flow", "<img src=x");
        await hostile.WaitForAsync();
        Assert.Contains("<script>window.__pwned=2</script>", await hostile.Locator(".body").InnerTextAsync());
        Assert.Equal(0, await _page.Locator("#flow img, #flow script").CountAsync());
        Assert.False(await _page.EvaluateAsync<bool>("() => window.__pwned !== undefined"));
    }

    [Fact]
    public async Task Older_history_loads_on_demand()
    {
        var hive = await OwnHiveAsync(); // counts every row of the flow
        await using var alice = await hive.ConnectAsync("alice");
        for (var i = 0; i < 130; i++) await alice.SendAsync("bob", $"history {i:000}");
        await OpenAsync(hive);
        Assert.Equal(100, await _page.Locator("#flow > li").CountAsync());
        await _page.ClickAsync("#load-older");
        await _page.WaitForFunctionAsync("() => document.querySelectorAll('#flow > li').length === 130");
        await _page.Locator("#load-older").WaitForAsync(new() { State = WaitForSelectorState.Hidden });
        Assert.Equal("history 000", (await _page.Locator("#flow > li .body").Last.InnerTextAsync()).Trim());
        Assert.Equal(1, _stateRequests);
    }

    [Fact]
    public async Task After_the_stream_is_cut_the_page_resumes_and_shows_what_happened_meanwhile()
    {
        var (aliceName, bobName) = await AgentsAsync();
        await OpenAsync();
        await using var alice = await _hive.ConnectAsync(aliceName);
        await alice.SendAsync(bobName, "before the cut");
        await Row("flow", "before the cut").WaitForAsync();

        _hive.Service<DashboardHub>().DisconnectAll();
        for (var i = 0; i < 3; i++) await alice.SendAsync(bobName, $"while cut {i}");
        await alice.CallAsync(new { op = "ask", question = "asked while cut" });

        for (var i = 0; i < 3; i++) await Row("flow", $"while cut {i}").WaitForAsync();
        await Row("questions-pending", "asked while cut").WaitForAsync();
        await _page.UntilLiveAsync();
        Assert.Equal(1, _stateRequests); // resumed from Last-Event-ID, not reloaded
        Assert.Equal(1, await Row("flow", "before the cut").CountAsync());
    }

    [Fact]
    public async Task Agents_added_and_removed_at_run_time_come_and_go_in_the_swarm_live()
    {
        var hive = await OwnHiveAsync(); // counts the whole swarm
        await OpenAsync(hive);
        var directory = hive.Service<AgentDirectory>();
        await directory.AddAsync("carol");
        await directory.AddAsync("aaron");

        await _page.Locator("#agents li[data-agent=carol]").WaitForAsync();
        await _page.Locator("#swarm-count", new() { HasText = "(5)" }).WaitForAsync();
        Assert.Equal(["manager", "aaron", "alice", "bob", "carol"], await _page.Locator("#agents li .who").AllInnerTextsAsync());
        Assert.Contains("carol", await _page.Locator("#send-to option").AllInnerTextsAsync());

        await using (var carol = await hive.ConnectAsync("carol"))
        {
            await carol.SendAsync("operator", "hello from carol");
            await carol.CallAsync(new { op = "remind", body = "carol's chore", in_seconds = 3600 });
        }
        await Row("inbox", "hello from carol").WaitForAsync();
        await _page.Locator("#agents li[data-agent=carol] .chip.reminders", new() { HasText = "1 reminder" }).WaitForAsync();

        await directory.RemoveAsync("carol");
        await _page.Locator("#agents li[data-agent=carol]").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        await _page.Locator("#swarm-count", new() { HasText = "(4)" }).WaitForAsync();
        Assert.DoesNotContain("carol", await _page.Locator("#send-to option").AllInnerTextsAsync());
        Assert.Equal(1, await Row("inbox", "hello from carol").CountAsync()); // what a removed agent sent stays

        // An event about an agent the page no longer lists neither fails nor brings the row back.
        await Row("reminders", "carol's chore").Locator("button.cancel").ClickAsync();
        await Row("reminders", "carol's chore").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        Assert.Equal(0, await _page.Locator("#agents li[data-agent=carol]").CountAsync());

        Assert.Equal(1, _stateRequests);
        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task Screenshots_at_1280_and_390_pixels()
    {
        var hive = await OwnHiveAsync(); // a picture of a hive with only this story in it
        await using var alice = await hive.ConnectAsync("alice");
        await using var bob = await hive.ConnectAsync("bob");
        await alice.SendAsync("bob", "the plan is in /agents/alice/state/plan.md, please review");
        await bob.RecvAsync();
        await bob.SendAsync("operator", "review done: two nits, see /agents/alice/state/plan.md");
        await alice.CallAsync(new { op = "ask", question = "may I ship the plan?" });
        await alice.CallAsync(new { op = "ask", question = "bob, rebase or merge?", to = "bob" });
        await bob.CallAsync(new { op = "remind", body = "check CI on the plan", in_seconds = 1800, payload_path = "/agents/alice/state/plan.md" });
        await alice.CallAsync(new { op = "remind", body = "follow up with bob", in_seconds = 600 });

        var folder = Screenshots.Folder;
        Directory.CreateDirectory(folder);
        foreach (var (width, height) in new[] { (1280, 800), (390, 844) })
        {
            await NewPageAsync(width, height);
            await OpenAsync(hive);
            await Row("reminders", "follow up with bob").WaitForAsync();
            var path = Path.Combine(folder, $"dashboard-{width}.png");
            await _page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
            Assert.True(new FileInfo(path).Length > 10_000);
            // Nothing overflows sideways at this width.
            Assert.True(await _page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"horizontal overflow at {width}px");
        }
    }
}
