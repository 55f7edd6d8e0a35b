using System.Net;
using Hive.Tests.Features.Gateway;
using Hive.Tests.Features.Governance;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The gateway's model calls in a real browser against a real host whose provider is a fake Messages API: the agent page's
/// model calls (live, by turn) and one call as a person reads it (model text as text, the raw bodies a toggle away); the
/// failing streak on its page and its row while the provider is gone, and gone when it is back; the providers in the
/// governance section.
/// </summary>
public sealed class ModelCallsPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly string _key = GatewayKit.NewKey();
    private readonly int _port = HostProcess.FreePort();
    private FakeMessagesApi? _model;
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _pageErrors = [];

    public async Task InitializeAsync()
    {
        _model = await FakeMessagesApi.StartAsync(_key, _port);
        _hive = await HiveInstance.StartAsync(["alice", "bob"], GatewayKit.Provider($"http://127.0.0.1:{_port}"));
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
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
        if (_model is not null) await _model.DisposeAsync();
    }

    private async Task<HttpStatusCode> CallAsync(string text)
    {
        using var door = GatewayKit.Door(_hive, "alice");
        using var response = await door.PostAsync("/v1/messages", GatewayKit.MessagesBody(text: text));
        await response.Content.ReadAsStringAsync();
        return response.StatusCode;
    }

    [Fact]
    public async Task The_agents_page_lists_its_model_calls_live_and_opens_one_as_a_person_reads_it()
    {
        _model!.Enqueue(ModelReply.ToolUse("mcp__hive__send", """{"to":"bob","body":"<b>hi</b>"}""", textBefore: "<img src=x onerror=alert(1)> greeting bob"));
        Assert.Equal(HttpStatusCode.OK, await CallAsync("please greet <b>bob</b>"));

        await _page.GotoAsync($"{_hive.BaseAddress}agents/alice");
        var rows = _page.Locator("#ap-calls tr.call");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First.Locator(".model")).ToHaveTextAsync("claude-test");
        await Expect(rows.First.Locator(".status")).ToHaveTextAsync("complete 200");

        await rows.First.Locator("button.open-call").ClickAsync();
        var call = _page.Locator("#ap-call");
        await Expect(call.Locator(".readable .message[data-role=user] .part-text pre")).ToHaveTextAsync("please greet <b>bob</b>");
        await Expect(call.Locator(".readable .answer .part-text pre")).ToHaveTextAsync("<img src=x onerror=alert(1)> greeting bob");
        await Expect(call.Locator(".readable .answer .part-tool_use .kind")).ToHaveTextAsync("tool call mcp__hive__send");
        await Expect(call.Locator(".readable .answer .part-tool_use pre")).ToContainTextAsync("\"to\":\"bob\"");
        Assert.Equal(0, await call.Locator("b, img").CountAsync()); // model text is text
        await Expect(call.Locator(".raw")).ToBeHiddenAsync();
        await call.Locator("button.raw-toggle").ClickAsync();
        await Expect(call.Locator(".raw .raw-request")).ToContainTextAsync("\"messages\"");
        await Expect(call.Locator(".raw .raw-response")).ToContainTextAsync("message_stop");
        await Expect(call.Locator(".readable")).ToBeHiddenAsync();

        // Live: the next call joins the list as its summary arrives.
        Assert.Equal(HttpStatusCode.OK, await CallAsync("and again"));
        await Expect(rows).ToHaveCountAsync(2);

        // By turn: a turn it made no call in lists none.
        await _page.GotoAsync($"{_hive.BaseAddress}agents/alice?turn=999");
        await Expect(_page.Locator("#ap-calls-count")).ToHaveTextAsync("(0 in turn #999)");
        await Expect(_page.Locator("#ap-calls-empty")).ToBeVisibleAsync();
        await _page.Locator("#ap-call-turns a.all").ClickAsync();
        await Expect(rows).ToHaveCountAsync(2);
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task The_agents_page_shows_its_last_turns_cost_as_the_meter_decided_beside_what_it_reported()
    {
        await _page.GotoAsync($"{_hive.BaseAddress}agents/alice");
        await Expect(_page.Locator("#ap-calls-empty")).ToBeVisibleAsync();
        var badge = _page.Locator("#ap-badges [data-badge=turn-cost]");
        await Expect(badge).ToHaveCountAsync(0); // no turn yet

        // A turn whose one call costs 12 × $1000/M + 6 × $2000/M = $0.024, and whose agent says it cost nothing.
        await using var alice = await _hive.ConnectAsync("alice");
        var turnId = await GovernanceHive.GrantedAsync(alice);
        Assert.Equal(HttpStatusCode.OK, await CallAsync("what is this worth?"));
        AgentClient.Ok(await alice.CallAsync(GovernanceHive.Record(turnId, cost: 0)));
        await Expect(badge).ToHaveTextAsync("last turn $0.0240 (metered; it reported $0.0000)");
        await Expect(badge).ToHaveAttributeAsync("data-source", "metered");

        // A turn without calls through the gateway: its own word.
        var second = await GovernanceHive.GrantedAsync(alice);
        AgentClient.Ok(await alice.CallAsync(GovernanceHive.Record(second, cost: 0.5)));
        await Expect(badge).ToHaveTextAsync("last turn $0.5000 (reported)");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task A_failing_streak_shows_on_the_agents_page_and_row_while_the_provider_is_gone()
    {
        // The page's own read of the row is answered before the streak begins and reaches the page after it: an answer
        // older than the events must not take the streak away (CI saw it vanish so).
        var rowRead = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        await _page.RouteAsync("**/api/agents/alice", async route =>
        {
            var answer = await route.FetchAsync();
            rowRead.TrySetResult();
            await release.Task;
            await route.FulfillAsync(new RouteFulfillOptions { Response = answer });
        });
        await _page.GotoAsync($"{_hive.BaseAddress}agents/alice");
        await Expect(_page.Locator("#ap-calls-empty")).ToBeVisibleAsync();
        await rowRead.Task.WaitAsync(Deadline);
        await _model!.DisposeAsync();
        _model = null;

        Assert.Equal(HttpStatusCode.BadGateway, await CallAsync("anyone there?"));
        var badge = _page.Locator("#ap-badges [data-badge=failing]");
        await Expect(badge).ToContainTextAsync($"model calls failing: 1 in a row, connection refused to 127.0.0.1:{_port}, since ");
        Assert.Equal(0, await _page.Locator("#ap-stats .chart").CountAsync());
        release.SetResult();
        await Expect(_page.Locator("#ap-stats .chart")).ToHaveCountAsync(4); // the late answer is taken in
        await Expect(badge).ToContainTextAsync("model calls failing: 1 in a row");
        await _page.UnrouteAllAsync();
        Assert.Equal(HttpStatusCode.BadGateway, await CallAsync("anyone there?"));
        await Expect(badge).ToContainTextAsync("model calls failing: 2 in a row");
        await Expect(_page.Locator("#ap-calls tr.call.state-failed")).ToHaveCountAsync(2);

        await _page.GotoAsync(_hive.BaseAddress.ToString());
        var chip = _page.Locator("#swarm li[data-agent='alice'] .model-calls-failing");
        await Expect(chip).ToContainTextAsync("model calls failing: 2 in a row");
        await Expect(_page.Locator("#swarm li[data-agent='bob'] .model-calls-failing")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#governance-providers li[data-provider=anthropic]")).ToContainTextAsync($"anthropic · 127.0.0.1:{_port}");

        _model = await FakeMessagesApi.StartAsync(_key, _port);
        Assert.Equal(HttpStatusCode.OK, await CallAsync("back?"));
        await Expect(chip).ToHaveCountAsync(0);
        Assert.Empty(_pageErrors);
    }
}
