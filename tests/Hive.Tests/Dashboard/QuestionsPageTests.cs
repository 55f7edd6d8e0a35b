using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// On the page, a question's options are buttons (one click answers; with multi, toggle then send the
/// chosen joined by ", "), the time left counts down until the question expires, and the operator cancels one.
/// A hive of its own, with a fast expiry sweep.
/// </summary>
public sealed class QuestionsPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _consoleErrors = [];

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Questions:TickSeconds", "0.2");
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout(15_000);
        SetDefaultExpectTimeout(15_000);
        _page.Console += (_, message) => { if (message.Type == "error") lock (_consoleErrors) _consoleErrors.Add(message.Text); };
        _page.Dialog += async (_, dialog) => await dialog.AcceptAsync(); // a cancel asks once: say yes
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    private ILocator Pending(string text) => _page.Locator("#questions-pending > li").Filter(new() { HasText = text });

    private async Task<string> AnswerBodyAsync(AgentClient asker)
    {
        var message = (await asker.RecvAndAckAsync(waitMs: 10_000))!.Value;
        Assert.Equal("answer", message.GetProperty("kind").GetString());
        return message.GetProperty("body").GetString()!;
    }

    [Fact]
    public async Task An_option_button_answers_and_multi_sends_the_chosen_options_joined()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await QuestionsAsk(alice, new { op = "ask", question = "deploy now?", options = new[] { "yes", "no", "later" } });
        var single = Pending("deploy now?");
        await Expect(single.Locator("button.option")).ToHaveTextAsync(["yes", "no", "later"]);
        await Expect(single.Locator("input[name=answer]")).ToBeVisibleAsync(); // options are advisory: free text stays
        await single.Locator("button.option", new() { HasText = "later" }).ClickAsync();
        Assert.Equal("later", await AnswerBodyAsync(alice));
        await Expect(single).ToHaveCountAsync(0);

        await QuestionsAsk(alice, new { op = "ask", question = "which regions?", options = new[] { "eu", "us", "asia" }, multi = true });
        var multi = Pending("which regions?");
        await Expect(multi.Locator("button.send-chosen")).ToBeDisabledAsync();
        await multi.Locator("button.option", new() { HasText = "asia" }).ClickAsync();
        await multi.Locator("button.option", new() { HasText = "us" }).ClickAsync();
        await multi.Locator("button.option", new() { HasText = "eu" }).ClickAsync();
        await multi.Locator("button.option", new() { HasText = "us" }).ClickAsync(); // toggled off again
        await Expect(multi.Locator("button.option[aria-pressed=true]")).ToHaveTextAsync(["eu", "asia"]);
        await multi.Locator("button.send-chosen").ClickAsync();
        Assert.Equal("eu, asia", await AnswerBodyAsync(alice));
        await Expect(multi).ToHaveCountAsync(0);
        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task The_time_left_counts_down_and_the_question_expires_on_the_page()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await QuestionsAsk(alice, new { op = "ask", question = "an hour's thought?", ttl_seconds = 3600 });
        await Expect(Pending("an hour's thought?").Locator(".expires")).ToHaveTextAsync("expires in 60 min");

        await QuestionsAsk(alice, new { op = "ask", question = "quick, anyone?", ttl_seconds = 6 });
        var row = Pending("quick, anyone?");
        var expires = row.Locator(".expires");
        await Expect(expires).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^expires in [3-6]s$"));
        var first = await expires.TextContentAsync();
        await Expect(expires).Not.ToHaveTextAsync(first!); // it updates without any event
        await Expect(row).ToHaveCountAsync(0, new() { Timeout = 15_000 });
        Assert.Equal("[expired]", await AnswerBodyAsync(alice));
        await _page.Locator("#questions-history-box summary").ClickAsync();
        await Expect(_page.Locator("#questions-answered > li", new() { HasText = "quick, anyone?" }).Locator(".answerer")).ToHaveTextAsync("ttl: ");
        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task The_operator_cancels_an_open_question_and_the_asker_is_told()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        await QuestionsAsk(alice, new { op = "ask", question = "bob, merge or rebase?", to = "bob", options = new[] { "merge", "rebase" } });
        var row = Pending("bob, merge or rebase?");
        await row.Locator("button.cancel").ClickAsync();
        Assert.Equal("[cancelled]", await AnswerBodyAsync(alice));
        await Expect(row).ToHaveCountAsync(0);
        await _page.Locator(".toast", new() { HasText = "question cancelled; alice is told" }).WaitForAsync();
        Assert.Equal("operator", _hive.QueryDb<string>("SELECT answerer FROM questions WHERE question = 'bob, merge or rebase?'"));
        Assert.Empty(_consoleErrors);
    }

    private static async Task QuestionsAsk(AgentClient agent, object request) => AgentClient.Ok(await agent.CallAsync(request));
}
