using Hive.Tests.Features.Governance;
using Microsoft.Playwright;
using static Hive.Tests.Features.Containers.ContainersKit;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The swarm as a tree, in a real browser against a real host: pia has two children (kai, kit), kit a child (kip) and kip
/// one of its own (kob, three below the top level); zed stands alone at the top level. The rows nest by parent, a
/// parent's toggle folds its subtree away and back (kept in the browser), a parent's row sums its subtree's spend, Pause
/// subtree pauses exactly that subtree, and /needs-you groups a grandchild's question under its top-level ancestor.
/// Each test has a hive of its own (a pause, a question: the page shows them all). The agents are external: the tree
/// is about parent links, not processes.
/// </summary>
public sealed class AgentTreePageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private HiveInstance _hive = null!;
    private IBrowserContext? _context;
    private IPage _page = null!;
    private readonly List<string> _consoleErrors = [];
    private readonly List<string> _pageErrors = [];
    private readonly List<AgentClient> _clients = [];

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["zed"]);
        await CreateAsync(_hive.Http, new { name = "pia", driver = "external", purpose = "leads the release" });
        await CreateAsync(_hive.Http, new { name = "kai", driver = "external", parent = "pia", purpose = "writes the notes" });
        await CreateAsync(_hive.Http, new { name = "kit", driver = "external", parent = "pia", purpose = "builds the packages" });
        await CreateAsync(_hive.Http, new { name = "kip", driver = "external", parent = "kit", purpose = "signs them" });
        await CreateAsync(_hive.Http, new { name = "kob", driver = "external", parent = "kip", purpose = "checks the signatures" });
    }

    public async Task DisposeAsync()
    {
        if (_context is not null) await _context.CloseAsync();
        foreach (var client in _clients) await client.DisposeAsync();
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

    /// <summary>The page (the dashboard, or another path), signed in, once its first event stream is live.</summary>
    private async Task OpenAsync(string path = "/")
    {
        await _page.GotoAsync(new Uri(_hive.BaseAddress, $"{path}?token={Uri.EscapeDataString(_hive.Token!)}").ToString());
        // The first load (sign-in, the page, its first event stream) is the slowest step on a busy machine: more patience there.
        await _page.UntilLiveAsync(60_000);
    }

    private async Task<AgentClient> ConnectAsync(string agent)
    {
        var client = await _hive.ConnectAsync(agent);
        _clients.Add(client);
        return client;
    }

    /// <summary>One turn of <paramref name="agent"/> that its harness says cost <paramref name="usd"/>.</summary>
    private async Task SpendAsync(string agent, double usd)
    {
        var turn = await ConnectAsync(agent);
        AgentClient.Ok(await turn.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(turn), cost: usd)));
    }

    private ILocator Row(string agent) => _page.Locator($"#agents > li[data-agent={agent}]");

    private ILocator Toggle(string agent) => Row(agent).Locator(".agent-head button.subtree-toggle");

    private async Task<string[]> PausedAsync() =>
        [.. (await _hive.GetJsonAsync("/api/governance")).GetProperty("paused").EnumerateArray().Select(p => p.GetProperty("agent").GetString()!).Order()];

    private void AssertNoErrors()
    {
        Assert.Empty(_pageErrors);
        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task The_swarm_is_a_tree_that_folds_sums_its_subtrees_spend_and_pauses_a_subtree_as_one_at_1280_and_390_pixels()
    {
        await SpendAsync("pia", 2);
        await SpendAsync("kit", 0.5);
        await SpendAsync("kob", 0.25);
        await NewPageAsync(1280, 900);
        await OpenAsync();

        // Depth first under each top-level agent, children by name; every row a direct item of the one list.
        var rows = _page.Locator("#agents > li.agent");
        await Expect(rows).ToHaveCountAsync(7);
        Assert.Equal(["manager", "pia", "kai", "kit", "kip", "kob", "zed"], await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.agent)"));
        Assert.Equal(["0", "0", "1", "1", "2", "3", "0"], await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.depth)"));
        await Expect(Row("kip")).ToHaveAttributeAsync("data-parent", "kit");
        await Expect(Row("zed")).Not.ToHaveAttributeAsync("data-parent", new System.Text.RegularExpressions.Regex("."));
        // Each level sits further in than its parent.
        var left = new Dictionary<string, double>();
        foreach (var name in new[] { "pia", "kit", "kip", "kob" }) left[name] = (await Row(name).Locator(".agent-head").BoundingBoxAsync())!.X;
        Assert.True(left["pia"] < left["kit"] && left["kit"] < left["kip"] && left["kip"] < left["kob"], string.Join(", ", left));

        // A parent's row: how many under it, and its subtree's spend beside its own, as the host sums it.
        var pia = (await RowAsync(_hive, "pia"))!.Value;
        Assert.Equal(2.75, pia.GetProperty("subtree_spend_today_usd").GetDouble(), 6);
        await Expect(Row("pia").Locator(".subtree-size")).ToHaveTextAsync("4 agents under it");
        await Expect(Row("pia").Locator(".subtree-spend")).ToHaveTextAsync("subtree $2.75 today · $2.75 this month");
        await Expect(Row("pia").Locator(".own-spend")).ToHaveTextAsync("(own $2.00 · $2.00)");
        await Expect(Row("kit").Locator(".subtree-spend")).ToHaveTextAsync("subtree $0.75 today · $0.75 this month");
        await Expect(Row("kai").Locator(".subtree")).ToHaveCountAsync(0); // no children: no subtree line, no toggle
        await Expect(Row("kai").Locator("button.subtree-toggle")).ToHaveCountAsync(0);
        await Expect(Row("zed").Locator("button.subtree-toggle")).ToHaveCountAsync(0);
        // A turn booked while the page is open: the parent's sum follows it.
        await SpendAsync("kai", 1);
        await Expect(Row("pia").Locator(".subtree-spend")).ToHaveTextAsync("subtree $3.75 today · $3.75 this month");
        await Screenshots.SaveAsync(_page.Locator("#swarm"), "agent-tree-1280.png");

        // pia folds its whole subtree away and shows it again; zed is untouched.
        await Expect(Toggle("pia")).ToHaveAttributeAsync("aria-expanded", "true");
        await Toggle("pia").ClickAsync();
        await Expect(Toggle("pia")).ToHaveAttributeAsync("aria-expanded", "false");
        foreach (var name in new[] { "kai", "kit", "kip", "kob" }) await Expect(Row(name)).ToBeHiddenAsync();
        await Expect(Row("pia")).ToBeVisibleAsync();
        await Expect(Row("zed")).ToBeVisibleAsync();
        await Toggle("pia").ClickAsync();
        await Expect(Toggle("pia")).ToHaveAttributeAsync("aria-expanded", "true");
        foreach (var name in new[] { "kai", "kit", "kip", "kob" }) await Expect(Row(name)).ToBeVisibleAsync();

        // kit folded stays folded across a reload (the browser keeps it), and only its subtree is hidden.
        await Toggle("kit").ClickAsync();
        await Expect(Row("kip")).ToBeHiddenAsync();
        await Expect(Row("kob")).ToBeHiddenAsync();
        await Expect(Row("kai")).ToBeVisibleAsync();
        await _page.ReloadAsync();
        await _page.UntilLiveAsync(60_000);
        await Expect(Toggle("kit")).ToHaveAttributeAsync("aria-expanded", "false");
        await Expect(Row("kip")).ToBeHiddenAsync();
        await Expect(Row("kai")).ToBeVisibleAsync();
        await Toggle("kit").ClickAsync();
        await Expect(Row("kob")).ToBeVisibleAsync();

        // Pause subtree on kit's row pauses kit, kip and kob, and no one else; Resume subtree lifts exactly them.
        await Expect(Row("kit").Locator("button[data-action=resume-subtree]")).ToHaveCountAsync(0);
        await Row("kit").Locator("button[data-action=pause-subtree]").ClickAsync();
        foreach (var name in new[] { "kit", "kip", "kob" }) await Expect(Row(name).Locator(".badge.paused-badge")).ToBeVisibleAsync();
        Assert.Equal(["kip", "kit", "kob"], await PausedAsync());
        foreach (var name in new[] { "pia", "kai", "zed" })
            Assert.False((await RowAsync(_hive, name))!.Value.GetProperty("paused").GetBoolean(), name);
        await Expect(Row("pia").Locator(".badge.paused-badge")).ToHaveCountAsync(0);
        // pia's subtree is partly paused: both of its subtree actions are offered; kit's only Resume.
        await Expect(Row("pia").Locator("button[data-action=pause-subtree]")).ToBeVisibleAsync();
        await Expect(Row("pia").Locator("button[data-action=resume-subtree]")).ToBeVisibleAsync();
        await Expect(Row("kit").Locator("button[data-action=pause-subtree]")).ToHaveCountAsync(0);
        await Row("kit").Locator("button[data-action=resume-subtree]").ClickAsync();
        foreach (var name in new[] { "kit", "kip", "kob" }) await Expect(Row(name).Locator(".badge.paused-badge")).ToHaveCountAsync(0);
        Assert.Empty(await PausedAsync());
        AssertNoErrors();

        // A phone: the indent narrows, so the deepest row (three below the top) keeps most of the width, and nothing scrolls sideways.
        await NewPageAsync(390, 844);
        await OpenAsync();
        await Expect(Row("kob")).ToBeVisibleAsync();
        await Expect(Row("pia").Locator(".subtree-spend")).ToHaveTextAsync("subtree $3.75 today · $3.75 this month");
        var share = await Row("kob").EvaluateAsync<double>("row => row.querySelector('.agent-head').getBoundingClientRect().width / row.getBoundingClientRect().width");
        Assert.True(share >= 0.8, $"kob's row keeps {share:P0} of the list's width at 390px");
        Assert.True(await _page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "horizontal overflow at 390px");
        await Screenshots.SaveAsync(_page.Locator("#swarm"), "agent-tree-390.png");
        AssertNoErrors();
    }

    [Fact]
    public async Task Needs_you_groups_a_grandchilds_question_under_its_top_level_ancestor()
    {
        var kip = await ConnectAsync("kip");
        AgentClient.Ok(await kip.CallAsync(new { op = "ask", question = "sign with the old key?", options = new[] { "yes", "no" } }));
        var zed = await ConnectAsync("zed");
        AgentClient.Ok(await zed.CallAsync(new { op = "ask", question = "is the mirror up?" }));
        using (var pause = await _hive.Http.PostAsync("/api/governance/agents/kai/pause", null)) Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        await NewPageAsync(390, 844);
        await OpenAsync("/needs-you");

        // kip's question sits under pia (its top-level ancestor), with a heading naming pia; zed's, alone at the top, stays as it was.
        var group = _page.Locator("#ny-questions > li.subtree-group[data-top=pia]");
        await Expect(group.Locator(".subtree-heading")).ToHaveTextAsync("pia and the 4 agents under it");
        await Expect(group.Locator("li.question[data-asker=kip]")).ToContainTextAsync("sign with the old key?");
        await Expect(_page.Locator("#ny-questions > li.question[data-asker=zed]")).ToContainTextAsync("is the mirror up?");
        await Expect(_page.Locator("#ny-questions > li.question[data-asker=kip]")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#ny-questions-count")).ToHaveTextAsync("(2)");
        // So does a paused agent of pia's subtree under Agents.
        await Expect(_page.Locator("#ny-agents > li.subtree-group[data-top=pia] li.agent[data-agent=kai]")).ToBeVisibleAsync();

        // Answered from the group, kip hears it and the group goes with its last item.
        await group.Locator("li.question[data-asker=kip] button.option", new() { HasText = "no" }).ClickAsync();
        var answer = (await kip.RecvAndAckAsync(waitMs: (int)Deadline.TotalMilliseconds))!.Value;
        Assert.Equal("no", answer.GetProperty("body").GetString());
        await Expect(group).ToHaveCountAsync(0);
        await Expect(_page.Locator("#ny-questions > li.question[data-asker=zed]")).ToBeVisibleAsync();
        AssertNoErrors();
    }
}
