using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The page before and after signing in, in a real browser: the sign-in screen, recovery, and forged changes. One hive
/// for the class; each test has a browser context of its own (so it starts signed out) and agents of its own.
/// </summary>
public sealed class SignInPageTests(BrowserFixture browser, HiveFixture fixture)
    : SharedHiveTests(fixture), IClassFixture<BrowserFixture>, IClassFixture<HiveFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly HiveInstance _hive = fixture.Hive;
    private IBrowserContext _context = null!;
    private readonly List<string> _pageErrors = [];
    private readonly List<string> _consoleErrors = [];

    public async Task InitializeAsync() => _context = await browser.Browser.NewContextAsync();

    public async Task DisposeAsync() => await _context.CloseAsync();

    private string Home => _hive.BaseAddress.ToString();

    private async Task<IPage> NewPageAsync()
    {
        var page = await _context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
        page.Console += (_, message) => { if (message.Type == "error") lock (_consoleErrors) _consoleErrors.Add(message.Text); };
        return page;
    }

    [Fact]
    public async Task Without_signing_in_the_page_shows_the_sign_in_screen_and_carries_on_once_signed_in_in_another_tab()
    {
        var name = await _hive.NewAgentAsync("alice");
        var page = await NewPageAsync();
        await page.GotoAsync(Home);

        await page.Locator("#sign-in").WaitForAsync();
        await page.Locator("#connection[data-state=signed-out]").WaitForAsync();
        var screen = await page.Locator("#sign-in").InnerTextAsync();
        Assert.Contains("Open the sign-in link the host printed", screen);
        // The example link names the address the page was loaded from (behind a proxy, the proxy's), no written-in one.
        Assert.Contains($"{Home.TrimEnd('/')}/?token=…", screen);
        Assert.DoesNotContain("7480", screen);
        Assert.True(await page.Locator("#dashboard").IsHiddenAsync());
        Assert.True(await page.Locator("#sign-in-failed").IsHiddenAsync());
        // Not an error: nothing thrown, and the only console messages are the browser's own notes of the 401s.
        Assert.Empty(_pageErrors);
        Assert.All(_consoleErrors, e => Assert.Contains("401", e));

        // The operator opens the printed link in a new tab; the first tab follows without a reload.
        var signedIn = await NewPageAsync();
        await signedIn.GotoAsync(_hive.SignInUrl!.ToString());
        await signedIn.UntilLiveAsync();

        await page.UntilLiveAsync();
        Assert.True(await page.Locator("#sign-in").IsHiddenAsync());
        await page.Locator($"#agents li[data-agent={name}]").WaitForAsync();
        await using var alice = await _hive.ConnectAsync(name);
        await alice.SendAsync("operator", "after signing in");
        await page.Locator("#inbox > li", new() { HasText = "after signing in" }).WaitForAsync();
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task A_wrong_link_says_so_and_a_pasted_token_signs_in()
    {
        var page = await NewPageAsync();
        await page.GotoAsync(Home + "?token=not-the-token-at-all-0123456789");

        await page.Locator("#sign-in-failed").WaitForAsync();
        Assert.DoesNotContain("token=", page.Url); // the wrong token left the address bar too

        await page.FillAsync("#sign-in-token", _hive.Token!);
        await page.ClickAsync("#sign-in-form button[type=submit]");
        await page.UntilLiveAsync();
        Assert.Equal(Home, page.Url);
        Assert.True(await page.Locator("#sign-in").IsHiddenAsync());
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task A_snapshot_the_hive_did_not_answer_is_tried_again_until_the_page_is_live_without_a_reload()
    {
        var page = await NewPageAsync();
        var snapshots = 0;
        await page.RouteAsync("**/api/state", async route =>
        {
            // The first two are dropped as a host too busy to read them in time drops them: no answer at all.
            if (Interlocked.Increment(ref snapshots) <= 2) await route.AbortAsync("connectionreset");
            else await route.ContinueAsync();
        });
        var loads = 0;
        page.Load += (_, _) => Interlocked.Increment(ref loads);
        // Every state the page's connection shows, in order (each lasts a second or two: too short to poll for).
        await page.AddInitScriptAsync("""
            window.connectionStates = [];
            new MutationObserver(changes => { for (const c of changes) if (c.target.id === 'connection') window.connectionStates.push(c.target.dataset.state); })
              .observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
            """);

        await page.GotoAsync(_hive.SignInUrl!.ToString());
        await page.UntilLiveAsync();

        var states = await page.EvaluateAsync<string[]>("() => window.connectionStates");
        Assert.Collection(states.Where((state, i) => i == 0 || state != states[i - 1]),
            first => Assert.Matches(@"^the hive did not answer: .+ \(trying again in 1 s\)$", first),
            second => Assert.Matches(@"^the hive did not answer: .+ \(trying again in 2 s\)$", second),
            last => Assert.Equal("live", last));
        Assert.Equal(3, Volatile.Read(ref snapshots));
        Assert.Equal(1, Volatile.Read(ref loads)); // the page recovered by itself
        var name = await _hive.NewAgentAsync("alice");
        await page.Locator($"#agents li[data-agent={name}]").WaitForAsync(); // and follows the stream
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task A_page_served_by_another_local_server_cannot_change_anything_with_the_operators_cookie()
    {
        var page = await NewPageAsync();
        await page.GotoAsync(_hive.SignInUrl!.ToString());
        await page.UntilLiveAsync();
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);
        var reminder = (await alice.CallAsync(new { op = "remind", body = "leave me", in_seconds = 3600 })).GetProperty("id").GetInt64();

        // A real server on this machine, the kind an agent could run: same site as the hive (same address, another
        // port), so the browser does send the SameSite=Strict cookie; the same-origin rule is what refuses it.
        await using var agentsServer = await StartPageServerAsync("<!doctype html><title>an agent's page</title><body></body>");
        var evil = await NewPageAsync();
        await evil.GotoAsync(agentsServer.Urls.Single());

        // (The page cannot read the answer of a no-cors request, and Chromium turns a JSON one into a network error;
        // the browser's own view of the response has its status.)
        var fetched = await evil.RunAndWaitForResponseAsync(
            () => evil.EvaluateAsync("args => fetch(args.url, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ to: args.to, body: 'forged fetch' }) }).catch(() => null)",
                new { url = Home + "api/messages", to = name }),
            r => r.Url == Home + "api/messages");
        Assert.Equal(403, fetched.Status);

        var posted = await evil.RunAndWaitForResponseAsync(
            () => evil.EvaluateAsync("""
                url => {
                  const form = Object.assign(document.createElement('form'), { method: 'post', action: url, enctype: 'text/plain' });
                  form.append(Object.assign(document.createElement('input'), { name: '{"x":"', value: '"}' }));
                  document.body.append(form);
                  form.submit();
                }
                """, Home + $"api/reminders/{reminder}/retry"),
            r => r.Url == Home + $"api/reminders/{reminder}/retry");
        Assert.Equal(403, posted.Status);

        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE body LIKE 'forged%' OR recipient = @name", new { name }));
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE id = @reminder", new { reminder }));
    }

    /// <summary>A plain web server on a free loopback port that serves one page.</summary>
    private static async Task<WebApplication> StartPageServerAsync(string html)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseSetting("urls", "http://127.0.0.1:0");
        var server = builder.Build();
        server.MapGet("/", () => Results.Content(html, "text/html"));
        await server.StartAsync();
        return server;
    }
}
