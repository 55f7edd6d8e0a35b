using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// Replies and broadcasts on the page: a reply shows what it answers (linked to that line); a broadcast is one line in the flow however
/// many agents it reached, with its deliveries counted; each agent row counts its loose ends live. A hive of its own: a
/// broadcast reaches everyone.
/// </summary>
public sealed class AgentSurfacePageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob", "carol"]);
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout(15_000);
        SetDefaultExpectTimeout(15_000);
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    [Fact]
    public async Task A_reply_shows_what_it_answers_and_a_broadcast_is_one_line()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var question = await alice.SendAsync("bob", "lunch at noon?");
        var reply = AgentClient.Ok(await bob.CallAsync(new { op = "send", to = "alice", body = "yes", in_reply_to = question })).GetProperty("id").GetInt64();

        var line = _page.Locator($"#flow > li[data-id='{reply}']");
        await Expect(line.Locator(".reply-to")).ToContainTextAsync("in reply to alice: lunch at noon?");
        await line.Locator(".reply-to a").ClickAsync();
        await Expect(_page.Locator($"#flow > li#msg-{question}")).ToBeVisibleAsync();
        Assert.EndsWith($"#msg-{question}", _page.Url);

        var broadcast = AgentClient.Ok(await alice.CallAsync(new { op = "send", to = "*", body = "standup in 5" })).GetProperty("broadcast_id").GetInt64();
        var folded = _page.Locator("#flow > li.broadcast");
        await Expect(folded).ToHaveCountAsync(1);
        await Expect(folded.Locator(".recipients")).ToHaveTextAsync("* (3: bob, carol, manager)");
        await Expect(_page.Locator("#flow > li", new() { HasText = "standup in 5" })).ToHaveCountAsync(1);
        await Expect(folded.Locator(".delivered")).ToHaveTextAsync(" ✓ 0/3");
        foreach (var agent in new[] { "bob", "carol", "manager" })
        {
            await using var client = await _hive.ConnectAsync(agent);
            while (await client.RecvAndAckAsync() is { } m && m.GetProperty("broadcast_id").ValueKind == System.Text.Json.JsonValueKind.Null) { }
        }
        await Expect(folded.Locator(".delivered")).ToHaveTextAsync(" ✓");
        Assert.Equal(broadcast.ToString(System.Globalization.CultureInfo.InvariantCulture), await folded.GetAttributeAsync("data-broadcast-id"));
    }

    [Fact]
    public async Task Each_row_counts_its_loose_ends_live()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        var aliceChip = _page.Locator("#agents > li[data-agent=alice] .chip.loose-ends");
        var bobChip = _page.Locator("#agents > li[data-agent=bob] .chip.loose-ends");
        await Expect(aliceChip).ToHaveCountAsync(0);

        var question = AgentClient.Ok(await alice.CallAsync(new { op = "ask", to = "bob", question = "ship it?" })).GetProperty("id").GetInt64();
        AgentClient.Ok(await alice.CallAsync(new { op = "remind", body = "check the release", in_seconds = 3600 }));
        await Expect(aliceChip).ToHaveTextAsync("2 loose ends");
        await Expect(bobChip).ToHaveTextAsync("1 loose end"); // waiting for his answer

        AgentClient.Ok(await bob.CallAsync(new { op = "answer", id = question, answer = "ship it" }));
        await Expect(aliceChip).ToHaveTextAsync("1 loose end");
        await Expect(bobChip).ToHaveCountAsync(0);
    }
}
