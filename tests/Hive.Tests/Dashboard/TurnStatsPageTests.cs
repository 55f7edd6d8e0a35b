using System.Text.RegularExpressions;
using Hive.Tests.Architecture;
using Hive.Tests.Features.TurnStats;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// Each agent row shows its last turn (when, how it ended) and a 24-hour sparkline of tokens per hour
/// (inline SVG), live: a recorded turn moves the row without a reload. A hive of its own, so the picture holds only
/// this story.
/// </summary>
public sealed class TurnStatsPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob"]);
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout(15_000);
        SetDefaultExpectTimeout(15_000);
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    private ILocator Row(string name) => _page.Locator($"#agents > li[data-agent={name}]");

    [Fact]
    public async Task Each_row_shows_its_last_turn_and_a_sparkline_that_follows_the_tokens()
    {
        var now = DateTimeOffset.UtcNow;
        Insert("alice", now.AddHours(-20).AddMinutes(-30), 3000);
        Insert("alice", now.AddHours(-6).AddMinutes(-30), 9000);
        Insert("alice", now.AddHours(-2).AddMinutes(-30), 4500);
        await using (var client = await _hive.ConnectAsync("alice"))
            await TurnStatsHive.RecordAsync(client, TurnStatsHive.Turn(input: 1000, output: 500));

        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();

        var alice = Row("alice");
        await Expect(alice.Locator(".last-turn")).ToHaveTextAsync(new Regex(@"^last turn (just now|\d+s ago) · ok$"));
        await Expect(alice.Locator(".turns-24h")).ToHaveTextAsync("4 turns / 24h");
        await Expect(alice.Locator(".tokens-24h")).ToHaveTextAsync("18k tokens");
        var spark = alice.Locator("svg.sparkline");
        await Expect(spark.Locator("rect.bar")).ToHaveCountAsync(24);
        await Expect(spark.Locator("title")).ToHaveTextAsync("18,000 tokens in the last 24 hours (per hour, oldest first)");
        await ExpectBarsAsync(spark, new() { [23 - 20] = 3000, [23 - 6] = 9000, [23 - 2] = 4500, [23] = 1500 });
        // bob has no turns: no line, no sparkline
        await Expect(Row("bob").Locator(".turns")).ToHaveCountAsync(0);

        // Live: a failed turn that spends more than any hour so far takes over the scale.
        await using (var alice2 = await _hive.ConnectAsync("alice"))
            await TurnStatsHive.RecordAsync(alice2, TurnStatsHive.Turn(input: 20000, output: 0, extra: new { result_kind = "failed", note = "tool crashed" }));
        await Expect(alice.Locator(".last-turn")).ToHaveTextAsync(new Regex(@"^last turn (just now|\d+s ago) · failed$"));
        await Expect(alice.Locator(".last-turn")).ToHaveAttributeAsync("data-result", "failed");
        await Expect(alice.Locator(".tokens-24h")).ToHaveTextAsync("38k tokens");
        await Expect(spark.Locator("title")).ToHaveTextAsync("38,000 tokens in the last 24 hours (per hour, oldest first)");
        await ExpectBarsAsync(spark, new() { [23 - 20] = 3000, [23 - 6] = 9000, [23 - 2] = 4500, [23] = 21500 });

        await using (var bob = await _hive.ConnectAsync("bob"))
            await TurnStatsHive.RecordAsync(bob, TurnStatsHive.Turn(input: 800, output: 200));
        await Expect(Row("bob").Locator("svg.sparkline rect.bar")).ToHaveCountAsync(24);

        var folder = Screenshots.Folder;
        var path = Path.Combine(folder, "turnstats-1280.png");
        await _page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Assert.True(new FileInfo(path).Length > 10_000);
    }

    [Fact]
    public async Task An_idle_agents_sparkline_and_counts_age_by_the_hour_without_a_reload()
    {
        var now = DateTimeOffset.UtcNow;
        Insert("alice", now.AddHours(-20).AddMinutes(-30), 3000);
        Insert("alice", now.AddHours(-2).AddMinutes(-30), 4500);
        await using (var client = await _hive.ConnectAsync("alice"))
            await TurnStatsHive.RecordAsync(client, TurnStatsHive.Turn(input: 1000, output: 500));
        await _page.Clock.InstallAsync(); // the page's clock (the host's stays real): time passes only when the test says

        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
        var alice = Row("alice");
        var spark = alice.Locator("svg.sparkline");
        await Expect(alice.Locator(".turns-24h")).ToHaveTextAsync("3 turns / 24h");
        await ExpectBarsAsync(spark, new() { [23 - 20] = 3000, [23 - 2] = 4500, [23] = 1500 });

        // Four idle hours later, with no turn and no reload: every hour moved four places and the oldest left the day.
        await _page.Clock.FastForwardAsync("04:00:00");
        await Expect(alice.Locator(".turns-24h")).ToHaveTextAsync("2 turns / 24h");
        await Expect(alice.Locator(".tokens-24h")).ToHaveTextAsync("6k tokens");
        await Expect(spark.Locator("title")).ToHaveTextAsync("6,000 tokens in the last 24 hours (per hour, oldest first)");
        await ExpectBarsAsync(spark, new() { [23 - 6] = 4500, [23 - 4] = 1500 });
    }

    /// <summary>
    /// Each bar carries its hour's tokens; the busiest hour is full height, the others in proportion, idle hours flat.
    /// </summary>
    private async Task ExpectBarsAsync(ILocator spark, Dictionary<int, long> expected)
    {
        var max = expected.Values.Max();
        for (var hour = 0; hour < 24; hour++)
        {
            var tokens = expected.GetValueOrDefault(hour);
            var bar = spark.Locator("rect.bar").Nth(hour);
            await Expect(bar).ToHaveAttributeAsync("data-tokens", tokens.ToString());
            var height = tokens == 0 ? 0 : Math.Max(1, (int)Math.Round(tokens * 18.0 / max, MidpointRounding.AwayFromZero));
            await Expect(bar).ToHaveAttributeAsync("height", height.ToString());
        }
    }

    private void Insert(string agent, DateTimeOffset at, long tokens) =>
        _hive.QueryDb<long>("""
            INSERT INTO turns (agent, recorded_at, model, wake_from, result_kind, started_at, ended_at, duration_ms,
                input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, tool_call_count, tools)
            VALUES (@agent, @at, 'm', NULL, 'ok', @at, @at, 0, @tokens, 0, 0, 0, 0, '{}')
            RETURNING id
            """, new { agent, at, tokens });
}
