using Hive.Contracts.Work;
using Microsoft.Playwright;
using static Hive.Tests.Features.Work.WorkKit;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// A ticket's diff page in a real browser, with a local bare repository and no forge: an external agent's ticket in a
/// review the operator gives; its files and patch side by side at 1280 px and unified at 390 px; a comment written on a
/// line's number reaches the agent, whose reply shows under it live; request changes sends the ticket back, and the page
/// follows. The agent's text stays text.
/// </summary>
public sealed class TicketPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly string App = string.Concat(Enumerable.Range(1, 30).Select(n => $"line {n}\n"));
    private LocalRepository _repository = null!;
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _pageErrors = [];

    public async Task InitializeAsync()
    {
        _repository = LocalRepository.Create(new Dictionary<string, string> { ["src/app.txt"] = App, ["README.md"] = "a project\n" });
        _hive = await HiveInstance.StartAsync([]);
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        _page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _hive.DisposeAsync();
        await _repository.DisposeAsync();
    }

    [Fact]
    public async Task The_diff_page_takes_a_comment_on_a_line_shows_the_reply_live_and_sends_the_ticket_back()
    {
        await _hive.PutWorkflowAsync("reviewed", ReviewedWorkflow(_repository.Path));
        var ann = await _hive.NewAgentAsync("ann", "code");
        await using var socket = await _hive.ConnectAsync(ann);
        var id = await _hive.NewTicketAsync(new { title = "Tidy the app", workflow = "reviewed" });
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(socket, 30) ?? throw new Xunit.Sdk.XunitException("no offer")));
        Ok(await socket.CallAsync(new { op = "ticket_claim", id }));
        await CommitAsync(_hive, ann, new Dictionary<string, string>
        {
            ["src/app.txt"] = App.Replace("line 12\n", "line twelve\n").Replace("line 20\n", ""),
            ["NOTES.md"] = "<img src=x onerror=alert(1)> notes\n",
        }, "tidy");
        Ok(await socket.CallAsync(new { op = "ticket_submit", id, summary = "tidied" }));

        await _page.GotoAsync($"{_hive.BaseAddress}tickets/{id}");
        await Expect(_page.Locator("#tp-title")).ToHaveTextAsync($"#{id} Tidy the app");
        await Expect(_page.Locator("#tp-badges [data-badge=phase]")).ToHaveTextAsync("review");
        await Expect(_page.Locator("#tp-files li")).ToHaveCountAsync(2);
        await Expect(_page.Locator("#tp-view")).ToHaveTextAsync("side by side");
        var app = _page.Locator("section.file[data-path='src/app.txt']");
        await Expect(app.Locator("table.diff.split td.code.added")).ToHaveTextAsync(["line twelve"]);
        await Expect(app.Locator("table.diff.split td.code.removed")).ToHaveTextAsync(["line 12", "line 20"]);
        await Expect(_page.Locator("section.file[data-path='NOTES.md'] td.code.added")).ToHaveTextAsync("<img src=x onerror=alert(1)> notes");
        Assert.Equal(0, await _page.Locator("#tp-diff img").CountAsync());

        // A comment on the changed line, from its number.
        await app.Locator("button.line-no[data-side=new][data-line='12']").ClickAsync();
        await _page.Locator("#tp-compose-text").FillAsync("<b>Why</b> spell it out?");
        await _page.Locator("form.compose button[type=submit]").ClickAsync();
        var thread = app.Locator(".thread");
        await Expect(app.Locator(".thread > p.body")).ToHaveTextAsync("<b>Why</b> spell it out?");
        var message = await NextOfKindAsync(socket, "review_comment");
        Assert.Equal(("src/app.txt", 12, "line twelve"), (message.GetProperty("path").GetString(), message.GetProperty("line").GetInt32(), message.GetProperty("quoted").GetString()));

        // The owner's reply shows under it, live, and what the operator was typing in the thread stays.
        await app.Locator(".thread form.reply textarea").FillAsync("half a thought");
        await socket.CallAsync(ReviewVerbs.ReviewReply, new ReviewReplyArgs(message.GetProperty("comment_id").GetInt64(), "Numbers read oddly here."));
        await Expect(thread.Locator("ol.replies li .body")).ToHaveTextAsync("Numbers read oddly here.");
        await Expect(app.Locator(".thread form.reply textarea")).ToHaveValueAsync("half a thought");
        await app.Locator(".thread form.reply textarea").FillAsync("");
        await Screenshots.SaveAsync(_page, "ticket-page-1280.png");

        // Narrow: the same diff, unified, nothing wider than the screen.
        await _page.SetViewportSizeAsync(390, 844);
        await Expect(_page.Locator("#tp-view")).ToHaveTextAsync("unified");
        await Expect(app.Locator("table.diff.unified tr.added td.code")).ToHaveTextAsync(["line twelve"]);
        await Expect(app.Locator(".thread ol.replies li")).ToHaveCountAsync(1);
        Assert.True(await _page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scroll at 390 px");
        await Screenshots.SaveAsync(_page, "ticket-page-390.png");

        // Request changes: the ticket goes back to build, and the page follows.
        await _page.Locator("#tp-review-body").FillAsync("Keep the digits.");
        await _page.Locator("#tp-review-form button[value=request_changes]").ClickAsync();
        await Expect(_page.Locator("#tp-badges [data-badge=phase]")).ToHaveTextAsync("build");
        await Expect(_page.Locator("#tp-decisions li.verdict-request_changes")).ToContainTextAsync("Keep the digits.");

        // A verdict out of review is refused on the form, and says why.
        await _page.Locator("#tp-review-form button[value=approve]").ClickAsync();
        await Expect(_page.Locator("#tp-review-error")).ToContainTextAsync("not in review");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task Two_tickets_on_the_same_lines_show_a_danger_badge_on_both_cards_and_it_goes_when_it_clears()
    {
        await _hive.PutWorkflowAsync("reviewed", ReviewedWorkflow(_repository.Path));
        var agents = new List<(string Name, AgentClient Socket, long Ticket)>();
        foreach (var name in new[] { "ann", "ben" })
        {
            var agent = await _hive.NewAgentAsync(name, "code");
            var socket = await _hive.ConnectAsync(agent);
            var id = await _hive.NewTicketAsync(new { title = $"Edit for {name}", workflow = "reviewed" });
            Assert.Equal(id, OfferedTicket(await NextOfferAsync(socket, 30) ?? throw new Xunit.Sdk.XunitException($"no offer for {name}")));
            Ok(await socket.CallAsync(new { op = "ticket_claim", id }));
            agents.Add((agent, socket, id));
        }
        try
        {
            await _page.Locator("#board-workflow").SelectOptionAsync("reviewed");
            await Expect(_page.Locator("#board-columns")).ToHaveAttributeAsync("data-workflow", "reviewed");
            foreach (var (name, _, _) in agents)
                await CommitAsync(_hive, name, new Dictionary<string, string> { ["src/app.txt"] = App.Replace("line 5\n", $"line five by {name}\n") }, "five");
            var (a, b) = (agents[0].Ticket, agents[1].Ticket);
            await Expect(_page.Locator($"#board-columns .card[data-id='{a}'] .chip.conflict-risk.danger")).ToHaveTextAsync($"⚠ conflict with #{b}");
            await Expect(_page.Locator($"#board-columns .card[data-id='{b}'] .chip.conflict-risk.danger")).ToHaveTextAsync($"⚠ conflict with #{a}");
            await Screenshots.SaveAsync(_page, "board-conflict-1280.png");

            await CommitAsync(_hive, agents[1].Name, new Dictionary<string, string> { ["src/app.txt"] = App }, "undo");
            await Expect(_page.Locator("#board-columns .chip.conflict-risk")).ToHaveCountAsync(0);
            Assert.Empty(_pageErrors);
        }
        finally
        {
            foreach (var (_, socket, _) in agents) await socket.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_board_shows_the_merge_queue_in_order_and_what_landed_at_1280_and_390()
    {
        await _hive.PutWorkflowAsync("reviewed", ReviewedWorkflow(_repository.Path));
        var (status, paused) = await _hive.SendJsonAsync(HttpMethod.Post, "/api/merge-queue/pause", new { repository = _repository.Path });
        Assert.True(status == HttpStatusCode.OK, paused.ToString());
        var (first, _) = await _hive.BuildAndApproveAsync("ann", "reviewed", new Dictionary<string, string> { ["one.txt"] = "1\n" });
        var (second, _) = await _hive.BuildAndApproveAsync("ben", "reviewed", new Dictionary<string, string> { ["two.txt"] = "2\n" });

        await _page.Locator("#board-workflow").SelectOptionAsync("reviewed");
        var queue = _page.Locator("#board-queue li.queue-entry");
        await Expect(queue).ToHaveCountAsync(2);
        await Expect(queue.Locator(".chip.merge-queue")).ToHaveTextAsync(["#1 in line", "#2 in line"]);
        await Expect(_page.Locator("#board-queue-paused")).ToContainTextAsync(_repository.Path);
        await Expect(_page.Locator($"#board-columns .card[data-id='{first}'] .chip.merge-queue")).ToHaveTextAsync("queued #1 to land");
        await Expect(_page.Locator($"#board-columns .card[data-id='{second}'] .chip.merge-queue")).ToHaveTextAsync("queued #2 to land");
        await Screenshots.SaveAsync(_page, "board-queue-1280.png");

        // Resumed, the two land: the section says so under "Recently", and the cards leave review for done.
        var (resumed, body) = await _hive.SendJsonAsync(HttpMethod.Post, "/api/merge-queue/resume", new { repository = _repository.Path });
        Assert.True(resumed == HttpStatusCode.OK, body.ToString());
        await Expect(_page.Locator("#board-queue-ended li.queue-entry.landed")).ToHaveCountAsync(2);
        await Expect(_page.Locator("#board-queue-empty")).ToBeVisibleAsync();
        await Expect(_page.Locator($"#board-columns .card[data-id='{first}']")).ToHaveAttributeAsync("data-phase", "done");
        await Expect(_page.Locator("#board-columns .chip.merge-queue")).ToHaveCountAsync(0);

        await _page.SetViewportSizeAsync(390, 844);
        await Expect(_page.Locator("#board-queue-ended li.queue-entry.landed .chip")).ToHaveCountAsync(2);
        Assert.True(await _page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scroll at 390 px");
        await _page.Locator("#board-queue-box").ScrollIntoViewIfNeededAsync();
        await Screenshots.SaveAsync(_page, "board-queue-390.png");
        Assert.Empty(_pageErrors);
    }
}
