using Microsoft.Playwright;

namespace Hive.Tests.Dashboard;

/// <summary>On the page, a bounded snapshot shows totals and says how many it leaves out.</summary>
public sealed class TruncatedListsPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob"]);
        _context = await browser.Browser.NewContextAsync();
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout(10_000);
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    [Fact]
    public async Task A_backlog_shows_its_total_and_how_many_more_and_live_events_keep_the_counts()
    {
        _hive.QueryDb<long>("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
            INSERT INTO reminders (agent, body, payload_path, due_at, created_at, attempt_count)
            SELECT 'alice', 'backlog ' || i, NULL, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || (3600 + i) || ' seconds'),
                   strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0 FROM n;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 130)
            INSERT INTO questions (asker, target, question, asked_at)
            SELECT 'bob', NULL, 'open ' || i, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM n;
            SELECT 1;
            """);
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();

        await Assertions.Expect(_page.Locator("#reminders > li")).ToHaveCountAsync(100);
        await Assertions.Expect(_page.Locator("#reminders-count")).ToHaveTextAsync("(250)");
        await Assertions.Expect(_page.Locator("#reminders-more")).ToHaveTextAsync("… and 150 more reminders not shown");
        await Assertions.Expect(_page.Locator("#questions-pending > li")).ToHaveCountAsync(100);
        await Assertions.Expect(_page.Locator("#questions-count")).ToHaveTextAsync("(130 open)");
        await Assertions.Expect(_page.Locator("#questions-more")).ToHaveTextAsync("… and 30 more open questions not shown");
        await Assertions.Expect(_page.Locator("#agents li[data-agent=alice] .chip.reminders")).ToHaveTextAsync("250 reminders");

        // Live: a cancelled reminder that is not shown still lowers the total; a new one raises it.
        var last = _hive.QueryDb<long>("SELECT max(id) FROM reminders");
        using (var cancel = await _hive.Http.DeleteAsync($"/api/reminders/{last}")) cancel.EnsureSuccessStatusCode();
        await Assertions.Expect(_page.Locator("#reminders-count")).ToHaveTextAsync("(249)");
        await Assertions.Expect(_page.Locator("#reminders-more")).ToHaveTextAsync("… and 149 more reminders not shown");
        await using var bob = await _hive.ConnectAsync("bob");
        var asked = await bob.CallAsync(new { op = "ask", question = "one more" });
        Assert.Equal("too_many", asked.GetProperty("code").GetString()); // 130 open already: over the quota of 100
        var oldest = _hive.QueryDb<long>("SELECT min(id) FROM questions");
        using (var answer = await _hive.Http.PostAsync($"/api/questions/{oldest}/answer",
                   new StringContent("""{"answer":"done"}""", System.Text.Encoding.UTF8, "application/json")))
            answer.EnsureSuccessStatusCode();
        await Assertions.Expect(_page.Locator("#questions-count")).ToHaveTextAsync("(129 open)");
    }
}
