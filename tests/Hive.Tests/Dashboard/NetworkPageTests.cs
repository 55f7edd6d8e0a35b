using System.Net.Sockets;
using System.Text;
using Hive.Shared.Egress;
using Microsoft.Playwright;
using static Hive.Tests.Features.Containers.ContainersKit;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// An agent's network in a real browser: a chip on its row (open in the warning colour), and on its own page its
/// egress rules, edited there as a configuration change whose diff is shown before it is applied, without a restart; and
/// its network panel: its last egress attempts, refused first, a new refusal listed as it happens.
/// </summary>
public sealed class NetworkPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private static readonly string[] Sleeper = ["/bin/sh", "-c", "exec sleep 1000"];
    private HiveInstance _hive = null!;
    private IBrowserContext? _context;
    private readonly List<string> _pageErrors = [];

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync([]);

    /// <summary>A page signed in to the dashboard, live, its errors collected.</summary>
    private async Task<IPage> SignedInPageAsync()
    {
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await _context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
        await page.GotoAsync(_hive.SignInUrl!.ToString());
        await page.UntilLiveAsync();
        return page;
    }

    public async Task DisposeAsync()
    {
        if (_context is not null) await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    [Fact]
    public async Task The_row_shows_the_network_and_the_agents_page_edits_its_egress_with_the_diff_and_no_restart()
    {
        try
        {
            var walled = await CreateAsync(_hive.Http, new { name = "walled", command = Sleeper, driver = "bubblewrap" });
            await CreateAsync(_hive.Http, new { name = "roaming", command = Sleeper, driver = "process" });

            var page = await SignedInPageAsync();

            await Expect(page.Locator("#swarm li[data-agent='walled'] .chip.network")).ToHaveTextAsync("sealed");
            var open = page.Locator("#swarm li[data-agent='roaming'] .chip.network");
            await Expect(open).ToHaveTextAsync("open network");
            await Expect(open).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("network-open"));
            // --amber, the warnings' colour; retried, since a row re-drawn by a live update detaches the element read.
            await Expect(open).ToHaveCSSAsync("color", "rgb(242, 193, 78)");

            await page.GotoAsync($"{_hive.BaseAddress}agents/walled");
            await Expect(page.Locator("#ap-network-mode .chip")).ToHaveTextAsync("sealed");
            await Expect(page.Locator("#ap-egress")).ToHaveTextAsync("egress: none");
            await page.Locator("#ap-egress-edit summary").ClickAsync();
            await page.Locator("#ap-egress-rules").FillAsync("github.com:443\nexa*mple.com");
            await page.Locator("#ap-egress-form button.review").ClickAsync();
            await Expect(page.Locator("#ap-egress-error")).ToContainTextAsync("a wildcard goes only at the start");

            await page.Locator("#ap-egress-rules").FillAsync("github.com:443");
            await page.Locator("#ap-egress-form button.review").ClickAsync();
            await Expect(page.Locator("#ap-egress-diff .diff-add")).ToContainTextAsync(["\"github.com:443\""]);
            await page.Locator("#ap-egress-apply").ClickAsync();
            await Expect(page.Locator("#ap-egress")).ToHaveTextAsync("egress: github.com:443");

            var after = (await RowAsync(_hive, "walled"))!.Value;
            Assert.Equal(walled.Pid(), after.Pid());
            Assert.Equal(["github.com:443"], after.GetProperty("egress").EnumerateArray().Select(e => e.GetString()));
            lock (_pageErrors) Assert.Empty(_pageErrors);
        }
        finally
        {
            await DestroyAsync(_hive, "walled");
            await DestroyAsync(_hive, "roaming");
        }
    }

    [Fact]
    public async Task The_agents_page_lists_its_egress_attempts_refused_first_and_a_new_refusal_without_a_reload()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;
        try
        {
            // A rule naming the loopback address literally is the one way through to it (the test's own listener).
            await CreateAsync(_hive.Http, new { name = "prober", command = Sleeper, driver = "bubblewrap", egress = new[] { $"127.0.0.1:{port}" } });

            // Refused first in time, allowed after: newest first alone would put the allowed one on top.
            Assert.StartsWith("HTTP/1.1 403 ", await ConnectAsync("prober", "nowhere.test:443"));
            var served = Task.Run(async () =>
            {
                using var connection = await server.AcceptSocketAsync();
                await connection.SendAsync("hello"u8.ToArray());
                connection.Shutdown(SocketShutdown.Send);
            });
            Assert.Equal("HTTP/1.1 200 Connection established\r\n\r\nhello", await ConnectAsync("prober", $"127.0.0.1:{port}"));
            await served;
            await AttemptsAsync("prober", 2); // an attempt is on the record once its connection has ended

            var page = await SignedInPageAsync();
            await page.GotoAsync($"{_hive.BaseAddress}agents/prober");
            await page.UntilLiveAsync();

            await Expect(page.Locator("#ap-net-mode")).ToContainTextAsync("sealed");
            await Expect(page.Locator("#ap-net-egress")).ToHaveTextAsync($"egress: 127.0.0.1:{port}");
            var rows = page.Locator("#ap-net tr");
            await Expect(rows).ToHaveCountAsync(2);
            await Expect(rows.Nth(0).Locator(".target")).ToHaveTextAsync("nowhere.test:443");
            await Expect(rows.Nth(0).Locator(".status")).ToHaveTextAsync("refused 403");
            await Expect(rows.Nth(0).Locator(".why")).ToHaveTextAsync("prober may not reach nowhere.test:443 (not in its egress)");
            await Expect(rows.Nth(1).Locator(".target")).ToHaveTextAsync($"127.0.0.1:{port}");
            await Expect(rows.Nth(1).Locator(".address")).ToHaveTextAsync("127.0.0.1");
            await Expect(rows.Nth(1).Locator(".status")).ToHaveTextAsync("allowed 200");
            await Expect(rows.Nth(1).Locator(".bytes-in")).ToHaveTextAsync("5 B");

            // A refusal while the page is open: the egress_refused event brings it, the page is not reloaded.
            await page.EvaluateAsync("() => { window.notReloaded = true; }");
            Assert.StartsWith("HTTP/1.1 403 ", await ConnectAsync("prober", "elsewhere.test:443"));
            await Expect(rows).ToHaveCountAsync(3);
            await Expect(rows.Nth(0).Locator(".target")).ToHaveTextAsync("elsewhere.test:443");
            await Expect(rows.Nth(1).Locator(".target")).ToHaveTextAsync("nowhere.test:443");
            await Expect(rows.Nth(2).Locator(".status")).ToHaveTextAsync("allowed 200");
            Assert.True(await page.EvaluateAsync<bool>("() => window.notReloaded === true"));

            // An open agent: no proxy, so nothing to list, and the page says why.
            await CreateAsync(_hive.Http, new { name = "roaming", command = Sleeper, driver = "process" });
            await page.GotoAsync($"{_hive.BaseAddress}agents/roaming");
            await Expect(page.Locator("#ap-net-mode")).ToContainTextAsync("its connections are not seen here");
            await Expect(page.Locator("#ap-net-empty")).ToBeVisibleAsync();
            await Expect(page.Locator("#ap-net-table")).ToBeHiddenAsync();
            lock (_pageErrors) Assert.Empty(_pageErrors);
        }
        finally
        {
            await DestroyAsync(_hive, "prober");
            await DestroyAsync(_hive, "roaming");
        }
    }

    /// <summary>A CONNECT through the agent's egress door (as its <c>hivectl port --proxy</c> makes one) and all that came back.</summary>
    private async Task<string> ConnectAsync(string agent, string target)
    {
        using var door = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await door.ConnectAsync(new UnixDomainSocketEndPoint(_hive.Service<IAgentEgress>().For(agent)!.Socket));
        await door.SendAsync(Encoding.ASCII.GetBytes($"CONNECT {target} HTTP/1.1\r\n\r\n"));
        door.Shutdown(SocketShutdown.Send);
        using var timeout = new CancellationTokenSource(Deadline);
        var all = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await door.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0) all.Write(buffer, 0, read);
        return Encoding.ASCII.GetString(all.ToArray());
    }

    private async Task AttemptsAsync(string agent, int count)
    {
        for (var deadline = DateTime.UtcNow + Deadline; ; await Task.Delay(20))
        {
            if ((await _hive.GetJsonAsync($"/api/agents/{agent}/net")).GetArrayLength() >= count) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{count} egress attempts of {agent}");
        }
    }
}
