using System.Text.RegularExpressions;
using Hive.Tests.Cli;
using Hive.Tests.Dashboard;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Features.Constellation;

/// <summary>
/// The constellation view: heartbeats heard by every hive, a hive unreachable after 3 missed beats, the outbox
/// depth and its alert, <c>hivectl hives</c>, and the dashboard's section. Two hive processes and a real RabbitMQ, beating
/// every 0.3 s so "3 missed beats" is about a second.
/// </summary>
public sealed class ConstellationViewTests(BrowserFixture browser, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private const double Beat = 0.3;

    private static string[] Settings(string hive) =>
        ["--Hive:Constellation:HeartbeatSeconds", "0.3", "--Hive:Constellation:OutboxAlertSeconds", "1", "--Hive:PublicUrl", $"https://{hive}.hives.example/"];

    [Fact]
    public async Task Each_hive_lists_both_with_their_dashboards_and_marks_one_unreachable_after_three_missed_beats()
    {
        await using var hives = await TwoHives.StartAsync(output, Settings);
        using var http = hives.A.CreateClient();
        var both = await UntilViewAsync(http, v => Hives(v).Count(h => h.GetProperty("reachable").GetBoolean()) == 2, "hive a to hear both hives");
        var a = Hives(both).Single(h => h.GetProperty("name").GetString() == "a");
        var b = Hives(both).Single(h => h.GetProperty("name").GetString() == "b");
        Assert.True(a.GetProperty("own").GetBoolean());
        Assert.False(b.GetProperty("own").GetBoolean());
        Assert.Equal("https://b.hives.example/", b.GetProperty("public_url").GetString());
        Assert.True(b.GetProperty("agents").GetInt32() == 2, b.ToString()); // the manager and bob
        Assert.Equal(Beat, b.GetProperty("heartbeat_seconds").GetDouble());
        Assert.Equal(0, both.GetProperty("status").GetProperty("outbox_depth").GetInt64());
        Assert.All(both.GetProperty("status").GetProperty("links").EnumerateObject(), link => Assert.Equal(JsonValueKind.Null, link.Value.ValueKind));

        await hives.B.KillAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var gone = await UntilViewAsync(http, v => Hives(v).Any(h => h.GetProperty("name").GetString() == "b" && !h.GetProperty("reachable").GetBoolean()),
            "hive a to mark b unreachable");
        // Not before 3 of its intervals have passed without a beat (the last beat may have come just before the kill).
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(3 * Beat - Beat), $"b was marked unreachable after {clock.Elapsed}");
        Assert.True(Hives(gone).Single(h => h.GetProperty("name").GetString() == "a").GetProperty("reachable").GetBoolean());
    }

    [Fact]
    public async Task The_outbox_depth_shows_and_alerts_while_the_broker_is_down_and_clears_once_drained()
    {
        var metricsPort = HostProcess.FreePort();
        await using var hives = await TwoHives.StartAsync(output, hive => hive == "a"
            ? [.. Settings(hive), "--Hive:Metrics:Urls", $"http://127.0.0.1:{metricsPort}"]
            : Settings(hive));
        using var http = hives.A.CreateClient();
        await using var alice = await hives.A.ConnectAsync("alice");
        await using var bob = await hives.B.ConnectAsync("bob");
        await using var events = await SseStream.OpenAsync(hives.A.BaseAddress, hives.A.Token);
        await hives.Node.StopAsync();
        await alice.SendAsync("bob@b", "one");
        await alice.SendAsync("bob@b", "two");

        var backed = await UntilViewAsync(http, v => v.GetProperty("status").GetProperty("outbox_alert").GetBoolean(), "the outbox alert");
        Assert.Equal(2, backed.GetProperty("status").GetProperty("outbox_depth").GetInt64());
        Assert.NotEqual(JsonValueKind.Null, backed.GetProperty("status").GetProperty("links").GetProperty("relay").ValueKind); // down since …
        var alert = await NextOfTypeAsync(events, "constellation_outbox_backlogged");
        Assert.Equal(2, alert.Json.GetProperty("depth").GetInt64());

        using (var scrape = new HttpClient())
        {
            var metrics = await scrape.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
            Assert.Contains("hive_constellation_outbox_depth 2", metrics);
            Assert.Contains("hive_constellation_outbox_alert 1", metrics);
            Assert.Contains("hive_constellation_broker_up{link=\"relay\"} 0", metrics);
        }
        var cli = await Hivectl.RunAsync(["--url", hives.A.BaseAddress.ToString(), "--token", hives.A.Token!, "hives"]);
        Assert.True(cli.ExitCode == 0, cli.ToString());
        Assert.Contains("outbox 2 (backed up)", cli.Stdout);
        Assert.Matches(new Regex(@"broker unreachable \(.*relay.*\)"), cli.Stdout);

        await hives.Node.RestartAsync();
        Assert.Equal("one", (await bob.RecvAndAckAsync(30_000))!.Value.GetProperty("body").GetString());
        Assert.Equal("two", (await bob.RecvAndAckAsync(30_000))!.Value.GetProperty("body").GetString());
        await NextOfTypeAsync(events, "constellation_outbox_drained");
        var drained = await UntilViewAsync(http, v => v.GetProperty("status").GetProperty("outbox_depth").GetInt64() == 0
            && !v.GetProperty("status").GetProperty("outbox_alert").GetBoolean(), "the outbox to drain");
        Assert.Equal(2, Hives(drained).Count());
    }

    [Fact]
    public async Task Hivectl_and_the_dashboard_show_the_hives_with_links_to_their_dashboards()
    {
        await using var hives = await TwoHives.StartAsync(output, Settings);
        using var http = hives.A.CreateClient();
        await UntilViewAsync(http, v => Hives(v).Count(h => h.GetProperty("reachable").GetBoolean()) == 2, "hive a to hear both hives");

        var cli = await Hivectl.RunAsync(["--url", hives.A.BaseAddress.ToString(), "--token", hives.A.Token!, "hives"]);
        Assert.True(cli.ExitCode == 0, cli.ToString());
        Assert.True(Regex.IsMatch(cli.Stdout, @"(?m)^a \(this\)\s+yes\s+2\s+0\s"), cli.Stdout);
        Assert.True(Regex.IsMatch(cli.Stdout, @"(?m)^b\s+yes\s+2\s+0\s.*https://b\.hives\.example/"), cli.Stdout);
        var json = await Hivectl.RunAsync(["--url", hives.A.BaseAddress.ToString(), "--token", hives.A.Token!, "--json", "hives"]);
        Assert.Equal("a", json.Json.GetProperty("name").GetString());

        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        await page.GotoAsync(hives.A.SignInUrl!.ToString());
        await page.UntilLiveAsync();
        var panel = page.Locator("#constellation-panel");
        await Expect(panel).ToBeVisibleAsync();
        var link = page.Locator("#constellation-hives > li[data-hive=b] a.who");
        await Expect(link).ToHaveAttributeAsync("href", "https://b.hives.example/");
        await Expect(page.Locator("#constellation-hives > li[data-hive=a]")).ToContainTextAsync("(this hive)");
        await Expect(page.Locator("#constellation-hives > li[data-hive=b] .reach")).ToHaveTextAsync("reachable");

        await hives.B.KillAsync(); // live: the row turns unreachable without a reload
        await Expect(page.Locator("#constellation-hives > li[data-hive=b] .reach")).ToHaveTextAsync("unreachable");
        await Expect(page.Locator("#constellation-count")).ToHaveTextAsync("(2, 1 unreachable)");
    }

    [Fact]
    public async Task A_beat_naming_another_hive_or_carrying_a_script_link_is_dropped()
    {
        await using var hives = await TwoHives.StartAsync(output, Settings);
        using var http = hives.B.CreateClient();
        await UntilViewAsync(http, v => Hives(v).Count() == 2, "hive b to hear both hives");
        await using (var connection = await hives.ConnectAsAsync("a"))
        await using (var channel = await connection.CreateChannelAsync())
        {
            var sentAt = DateTimeOffset.UtcNow;
            foreach (var (hive, url) in new[] { ("zed", "https://zed.example/"), ("a", "javascript:alert(1)") })
            {
                var body = JsonSerializer.SerializeToUtf8Bytes(new
                {
                    hive, public_url = url, heartbeat_seconds = 0.3, sent_at = sentAt, agents = 1, states = new { running = 1 },
                    outbox_depth = 0, inbox_lag = 0, dead_letters = 0,
                });
                await channel.BasicPublishAsync("hive.heartbeats", "", false, new RabbitMQ.Client.BasicProperties { UserId = "a" }, body);
            }
        }
        // Hive a's own beats go on meanwhile: once b has heard two more of them, it has also seen the forged ones.
        var heard = DateTimeOffset.UtcNow.AddSeconds(2 * Beat);
        var view = await UntilViewAsync(http, v => Hives(v).Any(h => h.GetProperty("name").GetString() == "a"
            && h.GetProperty("last_heard_at").GetDateTimeOffset() > heard), "hive b to hear hive a again");
        Assert.DoesNotContain(Hives(view), h => h.GetProperty("name").GetString() == "zed");
        Assert.Equal("https://a.hives.example/", Hives(view).Single(h => h.GetProperty("name").GetString() == "a").GetProperty("public_url").GetString());
    }

    [Fact]
    public async Task A_hive_alone_says_so()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"]);
        var view = await hive.GetJsonAsync("/api/constellation");
        Assert.False(view.GetProperty("enabled").GetBoolean());
        Assert.Empty(view.GetProperty("hives").EnumerateArray());
        var state = await hive.GetJsonAsync("/api/state");
        Assert.False(state.GetProperty("constellation").GetProperty("enabled").GetBoolean());
    }

    private static async Task<SseEvent> NextOfTypeAsync(SseStream events, string type)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
            if (await events.NextAsync(deadline - DateTime.UtcNow) is { } next && next.Type == type) return next;
        throw new TimeoutException($"no {type} event within 30 s");
    }

    private static IEnumerable<JsonElement> Hives(JsonElement view) => view.GetProperty("hives").EnumerateArray();

    private static async Task<JsonElement> UntilViewAsync(HttpClient http, Func<JsonElement, bool> condition, string what)
    {
        JsonElement view = default;
        await TwoHives.UntilAsync(async () =>
        {
            view = JsonDocument.Parse(await http.GetStringAsync("/api/constellation")).RootElement.Clone();
            return condition(view);
        }, what);
        return view;
    }
}
