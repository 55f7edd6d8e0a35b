using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The dashboard's half of the channels: each push channel's state, live (a receiver that fails shows
/// "failing" and why, then "ok" once a push gets through), and the test-send button, against a real host and a
/// <see cref="PushReceiver"/> over real HTTP.
/// </summary>
public sealed class ChannelsPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private PushReceiver _receiver = null!;
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-channels-").FullName;

    public async Task InitializeAsync()
    {
        _receiver = await PushReceiver.StartAsync();
        var secret = Path.Combine(_dir, "hook-secret");
        await File.WriteAllTextAsync(secret, "whsec-page-test-0123456789");
        _hive = await HiveInstance.StartAsync(["alice"],
            "--Hive:Notifications:Channels:hook:Type", "webhook",
            "--Hive:Notifications:Channels:hook:Url", new Uri(_receiver.Url, "/hook").ToString(),
            "--Hive:Notifications:Channels:hook:SecretFile", secret,
            "--Hive:Notifications:MaxRetrySeconds", "1");
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 } });
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _hive.DisposeAsync();
        await _receiver.DisposeAsync();
        await TestDirectories.DeleteAsync(_dir);
    }

    [Fact]
    public async Task A_channel_shows_failing_then_ok_live_and_its_test_button_sends_a_push()
    {
        var page = await _context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        await page.GotoAsync(_hive.SignInUrl!.ToString());
        await page.UntilLiveAsync();
        var row = page.Locator("#channels > li[data-name='hook']");
        await Expect(row.Locator(".channel-state")).ToHaveTextAsync("ok");
        await Expect(row).ToContainTextAsync("no push yet");
        await Expect(page.Locator("#channels-links")).ToBeVisibleAsync(); // no Hive:PublicUrl: said plainly

        _receiver.FailFirst = 2;
        await row.Locator("button.test-push").ClickAsync();
        await Expect(row).ToHaveAttributeAsync("data-failing", "true");
        await Expect(row.Locator(".channel-error")).ToContainTextAsync("the channel answered 500");
        var push = await _receiver.NextAcceptedAsync();
        Assert.Equal("test", push.Json.GetProperty("items")[0].GetProperty("kind").GetString());
        await Expect(row).ToHaveAttributeAsync("data-failing", "false");
        await Expect(row).ToContainTextAsync("last push");
        Assert.DoesNotContain("whsec-page-test", await page.ContentAsync());
        Assert.DoesNotContain("/hook", await row.InnerTextAsync());
    }
}
