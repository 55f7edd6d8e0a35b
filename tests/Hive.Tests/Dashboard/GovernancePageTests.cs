using System.Text.RegularExpressions;
using Hive.Contracts.Json;
using Hive.Tests.Architecture;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The dashboard's governance section and what the rows show of it, in a real browser against a real
/// host. Halt is hive-wide, so each test has a hive of its own: alice, bob and carol, one turn at a time (so a second
/// agent queues).
/// </summary>
public sealed class GovernancePageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _consoleErrors = [];
    private readonly List<string> _pageErrors = [];
    private readonly List<AgentClient> _clients = [];

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob", "carol"], "--Hive:Governance:MaxConcurrentTurns", "1");
        await NewPageAsync(1280, 900);
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        foreach (var client in _clients) await client.DisposeAsync();
        await _hive.DisposeAsync();
    }

    private async Task NewPageAsync(int width, int height)
    {
        if (_context is not null) await _context.CloseAsync();
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        _page.Console += (_, message) => { if (message.Type == "error") lock (_consoleErrors) _consoleErrors.Add($"{message.Text} ({message.Location})"); };
        _page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
        _page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
    }

    private async Task OpenAsync()
    {
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        // The first load (sign-in, the page, its first event stream) is the slowest step on a busy machine: more patience there.
        await _page.UntilLiveAsync(60_000);
        await Expect(_page.Locator("#governance-panel")).ToBeVisibleAsync();
    }

    private async Task<AgentClient> ConnectAsync(string agent)
    {
        var client = await _hive.ConnectAsync(agent);
        _clients.Add(client);
        return client;
    }

    private static JsonElement Ok(JsonElement reply)
    {
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        return reply;
    }

    private Task<JsonElement> GovernanceAsync() => _hive.GetJsonAsync("/api/governance");

    private ILocator Row(string agent) => _page.Locator($"#agents > li[data-agent={agent}]");

    private void AssertNoErrors()
    {
        Assert.Empty(_pageErrors);
        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task An_agents_own_quota_hold_shows_until_its_reset_and_goes_when_it_runs_out()
    {
        await OpenAsync();
        var alice = await ConnectAsync("alice");
        var hold = _page.Locator("#governance-holds li.quota-hold[data-agent=alice]");

        // A short hold shows, then goes when the clock lifts it (no reload).
        AgentClient.Ok(await alice.CallAsync(new { op = "quota_hit", until = UtcTimestamp.Format(DateTimeOffset.UtcNow.AddSeconds(10)) }));
        await Expect(hold).ToContainTextAsync("alice held by its own quota report until ");
        await Expect(hold).ToHaveCountAsync(0, new LocatorAssertionsToHaveCountOptions { Timeout = 30_000 });

        var until = DateTimeOffset.UtcNow.AddHours(2);
        AgentClient.Ok(await alice.CallAsync(new { op = "quota_hit", until = UtcTimestamp.Format(until) }));
        // Its time as the page's clock shows it (two hours on may be tomorrow: then the page names the day before the time).
        var shown = await _page.EvaluateAsync<string>(
            "iso => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })", UtcTimestamp.Format(until));
        await Expect(hold).ToContainTextAsync("alice held by its own quota report until ");
        await Expect(hold).ToContainTextAsync($"{shown} (");
        await Expect(hold.Locator(".meta")).ToContainTextAsync("its provider anthropic is not held on its word alone");
        await Expect(_page.Locator("#governance-holds li.quota-hold")).ToHaveCountAsync(1);
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task Halt_from_the_page_asks_first_then_shows_the_banner_and_resume_clears_it()
    {
        await OpenAsync();
        var banner = _page.Locator("#halt-banner");
        await Expect(banner).ToBeHiddenAsync();

        // The first click only asks: nothing is halted until the operator confirms.
        await _page.Locator("#halt-all").ClickAsync();
        await Expect(_page.Locator("#halt-confirm")).ToBeVisibleAsync();
        Assert.Equal(JsonValueKind.Null, (await GovernanceAsync()).GetProperty("halted").ValueKind);
        await _page.Locator("#halt-cancel").ClickAsync();
        await Expect(_page.Locator("#halt-confirm")).ToBeHiddenAsync();
        Assert.Equal(JsonValueKind.Null, (await GovernanceAsync()).GetProperty("halted").ValueKind);

        await _page.Locator("#halt-all").ClickAsync();
        await _page.Locator("#halt-confirm input[name=reason]").FillAsync("<b>upgrading</b> the box");
        await _page.Locator("#halt-confirm-button").ClickAsync();
        await Expect(banner).ToBeVisibleAsync();
        var halted = (await GovernanceAsync()).GetProperty("halted");
        Assert.Equal(JsonValueKind.Object, halted.ValueKind);
        Assert.Equal("<b>upgrading</b> the box", halted.GetProperty("reason").GetString());
        var by = halted.GetProperty("by").GetString()!;
        await Expect(banner).ToContainTextAsync($"Hive halted by {by} since ");
        await Expect(banner.Locator(".halted-since")).ToHaveAttributeAsync("datetime", halted.GetProperty("since").GetString()!);
        await Expect(banner.Locator(".halt-reason")).ToHaveTextAsync("<b>upgrading</b> the box"); // text, never HTML
        await Expect(banner.Locator("b")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#halt-all")).ToBeHiddenAsync();
        await Expect(_page.Locator("#resume-all")).ToBeVisibleAsync();

        await banner.Locator("#banner-resume").ClickAsync();
        await Expect(banner).ToBeHiddenAsync();
        Assert.Equal(JsonValueKind.Null, (await GovernanceAsync()).GetProperty("halted").ValueKind);
        await Expect(_page.Locator("#halt-all")).ToBeVisibleAsync();

        // Halted elsewhere (the API, hivectl), the page follows from the event; the section's Resume resumes too.
        using (var halt = await _hive.Http.PostAsJsonAsync("/api/governance/halt", new { })) Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
        await Expect(banner).ToBeVisibleAsync();
        await _page.Locator("#resume-all").ClickAsync();
        await Expect(banner).ToBeHiddenAsync();
        Assert.Equal(JsonValueKind.Null, (await GovernanceAsync()).GetProperty("halted").ValueKind);
        AssertNoErrors();
    }

    [Fact]
    public async Task A_quota_circuit_from_an_agents_socket_counts_down_and_clear_removes_it()
    {
        await OpenAsync();
        var alice = await ConnectAsync("alice");
        var carol = await ConnectAsync("carol");
        var until = DateTimeOffset.UtcNow.AddMinutes(10);
        // One agent's word holds only itself: carol's report, confirmed by alice's, opens the provider's circuit.
        Ok(await carol.CallAsync(new { op = "quota_hit", provider = "anthropic", until = UtcTimestamp.Format(until) }));
        Ok(await alice.CallAsync(new { op = "quota_hit", provider = "anthropic", until = UtcTimestamp.Format(until) }));

        var circuit = _page.Locator("#governance-circuits > li[data-provider=anthropic]");
        await Expect(circuit).ToBeVisibleAsync();
        await Expect(circuit.Locator(".who").Last).ToHaveTextAsync("alice"); // reported by
        var countdown = circuit.Locator(".countdown");
        await Expect(countdown).ToHaveTextAsync(new Regex(@"^(9|10):\d\d$"));
        var first = await countdown.TextContentAsync();
        await Expect(countdown).Not.ToHaveTextAsync(first!); // it counts down by the second, with no event
        await Expect(_page.Locator("#governance-circuits-count")).ToHaveTextAsync("(1)");
        // Every agent on that provider is held until then, and its row says so.
        await Expect(Row("bob").Locator(".badge.held")).ToHaveAttributeAsync("data-reason", "quota");
        await Expect(Row("bob").Locator(".badge.held")).ToContainTextAsync("held: provider limit · until ");

        await circuit.Locator("button.clear-circuit").ClickAsync();
        await Expect(circuit).ToHaveCountAsync(0);
        await Expect(_page.Locator("#governance-circuits-empty")).ToBeVisibleAsync();
        await Expect(Row("bob").Locator(".badge.held")).ToHaveCountAsync(0);
        Assert.Equal(0, (await GovernanceAsync()).GetProperty("circuits").GetArrayLength());

        // None left: clearing again is the host's 404, shown through the page's problem helper beside nothing (a toast).
        using (var again = await _hive.Http.DeleteAsync("/api/governance/circuits/anthropic")) Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        AssertNoErrors();
    }

    [Fact]
    public async Task A_budget_set_over_http_shows_its_bar_and_a_turn_fills_it()
    {
        await OpenAsync();
        using (var put = await _hive.Http.PutAsJsonAsync("/api/governance/budgets/alice", new { daily_usd = 2.0 }))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var budget = _page.Locator("#governance-budgets > li[data-scope=alice]");
        var today = budget.Locator(".budget-line[data-window=day][data-metric=usd]");
        await Expect(today.Locator(".amount")).ToHaveTextAsync("$0.00 of $2.00");

        // A turn ends with its cost, and the bar fills a quarter.
        var alice = await ConnectAsync("alice");
        var granted = Ok(await alice.CallAsync(new { op = "begin_turn" }));
        var turnId = granted.GetProperty("turn_id").GetInt64();
        await Expect(_page.Locator($"#governance-running > li[data-agent=alice]")).ToBeVisibleAsync();
        await Expect(_page.Locator("#governance-slots")).ToHaveTextAsync("(1 of 1 slots)");
        Ok(await alice.CallAsync(Turn(turnId, 0.5)));
        await Expect(_page.Locator("#governance-running > li")).ToHaveCountAsync(0);
        await Expect(today.Locator(".amount")).ToHaveTextAsync("$0.50 of $2.00");
        await Expect(today.Locator(".bar")).ToHaveAttributeAsync("data-ratio", "0.250");
        await Expect(budget.Locator(".budget-line[data-window=month] .amount")).ToHaveTextAsync("$0.50, no cap");
        // The whole hive comes first.
        await Expect(_page.Locator("#governance-budgets > li").First).ToHaveAttributeAsync("data-scope", "*");
        // The row: its spend today.
        await Expect(Row("alice").Locator(".chip.spend")).ToHaveTextAsync("$0.50 today");

        // The budget form: the whole hive's monthly cap; a refusal shows the host's problem under the form.
        await _page.Locator("#budget-box summary").ClickAsync();
        var form = _page.Locator("#budget-form");
        await form.Locator("select[name=scope]").SelectOptionAsync("*");
        await form.Locator("input[name=monthly_usd]").FillAsync("100");
        await form.Locator("button[type=submit]").ClickAsync();
        await Expect(_page.Locator("#governance-budgets > li[data-scope='*'] .budget-line[data-window=month][data-metric=usd] .amount"))
            .ToHaveTextAsync("$0.50 of $100.00");
        await form.Locator("input[name=daily_tokens]").FillAsync("9999999999999999");
        await form.Locator("button[type=submit]").ClickAsync();
        await Expect(_page.Locator("#budget-error")).ToBeVisibleAsync();
        await Expect(_page.Locator("#budget-error")).ToContainTextAsync("400");
        var hive = (await GovernanceAsync()).GetProperty("budgets")[0];
        Assert.Equal(JsonValueKind.Null, hive.GetProperty("daily_tokens").ValueKind); // nothing changed
        // Edit on a row fills the form with that scope's caps as they are.
        await budget.Locator("button.edit-budget").ClickAsync();
        await Expect(form.Locator("select[name=scope]")).ToHaveValueAsync("alice");
        await Expect(form.Locator("input[name=daily_usd]")).ToHaveValueAsync("2");
        await Expect(form.Locator("input[name=monthly_usd]")).ToHaveValueAsync("");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task An_agent_is_paused_and_resumed_from_its_row()
    {
        await OpenAsync();
        await Row("bob").Locator("button[data-action=pause]").ClickAsync();
        await Expect(Row("bob").Locator(".badge.paused-badge")).ToBeVisibleAsync();
        await Expect(_page.Locator("#governance-paused > li[data-agent=bob]")).ToBeVisibleAsync();
        var paused = (await GovernanceAsync()).GetProperty("paused").EnumerateArray().Select(p => p.GetProperty("agent").GetString()).ToList();
        Assert.Equal(["bob"], paused);

        // Its turn is held: the row says why.
        var bob = await ConnectAsync("bob");
        var held = Ok(await bob.CallAsync(new { op = "begin_turn" })).GetProperty("held");
        Assert.Equal("paused", held.GetProperty("reason").GetString());

        await Row("bob").Locator("button[data-action=resume]").ClickAsync();
        await Expect(Row("bob").Locator(".badge.paused-badge")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#governance-paused > li")).ToHaveCountAsync(0);
        Assert.Equal(0, (await GovernanceAsync()).GetProperty("paused").GetArrayLength());
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task Screenshots_running_turns_and_the_queue_follow_the_sockets_at_1280_and_390_pixels()
    {
        using (var put = await _hive.Http.PutAsJsonAsync("/api/governance/budgets/*", new { daily_usd = 5.0, monthly_usd = 100.0 }))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using (var put = await _hive.Http.PutAsJsonAsync("/api/governance/budgets/alice", new { daily_usd = 1.0, monthly_tokens = 2_000_000 }))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var alice = await ConnectAsync("alice");
        var first = Ok(await alice.CallAsync(new { op = "begin_turn" })).GetProperty("turn_id").GetInt64();
        Ok(await alice.CallAsync(Turn(first, 0.85)));
        await OpenAsync();

        // One slot: alice runs, bob waits in the queue (and his row says so).
        var turn = Ok(await alice.CallAsync(new { op = "begin_turn" })).GetProperty("turn_id").GetInt64();
        var running = _page.Locator("#governance-running > li[data-agent=alice]");
        await Expect(running).ToBeVisibleAsync();
        var age = running.Locator(".age");
        await Expect(age).ToHaveTextAsync(new Regex(@"^0:0\d$"));
        // bob asks for a turn and waits for it on his connection: he is the queue.
        var bob = await ConnectAsync("bob");
        var bobsTurn = bob.CallAsync(new { op = "begin_turn", wait_ms = 30_000 });
        var queued = _page.Locator("#governance-queue > li[data-agent=bob]");
        await Expect(queued).ToBeVisibleAsync();
        await Expect(queued).ToHaveAttributeAsync("data-reason", "queued");
        await Expect(age).ToHaveTextAsync(new Regex(@"^0:0[1-9]$")); // the age ticks
        // For the picture: a limit on another provider (it holds nobody here) and carol paused.
        using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name = "dave", driver = "external", provider = "openai" }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        // The provider's own 429, as the gateway reports it (an agent's quota_hit alone holds only that agent).
        await _hive.Service<MediatR.IMediator>().Send(new global::Hive.Features.Governance.Spend.OpenProviderCircuit.Command(
            "openai", DateTimeOffset.UtcNow.AddMinutes(42), "dave", "429"));
        using (var pause = await _hive.Http.PostAsync("/api/governance/agents/carol/pause", null)) Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        await Expect(_page.Locator("#governance-circuits > li[data-provider=openai]")).ToBeVisibleAsync();
        await Expect(_page.Locator("#governance-paused > li[data-agent=carol]")).ToBeVisibleAsync();

        await _page.Locator("#governance-panel").ScrollIntoViewIfNeededAsync();
        await ScreenshotAsync("governance-1280.png");

        // At 390 px the section fits: nothing scrolls sideways.
        await NewPageAsync(390, 844);
        await OpenAsync();
        await Expect(_page.Locator("#governance-queue > li[data-agent=bob]")).ToBeVisibleAsync();
        await _page.Locator("#budget-box summary").ClickAsync();
        await _page.Locator("#halt-all").ClickAsync(); // the confirm step, open (not confirmed)
        Assert.True(await _page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390px");
        var outside = await _page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('#governance-panel form')].flatMap(form => {
              const box = form.getBoundingClientRect();
              return [...form.querySelectorAll('input, select, button, label')]
                .filter(e => { const r = e.getBoundingClientRect(); return r.left < box.left - 0.5 || r.right > box.right + 0.5; })
                .map(e => `${form.id} ${e.tagName.toLowerCase()}[name=${e.name ?? ''}]`);
            })
            """);
        Assert.True(outside.Length == 0, $"at 390px outside their form: {string.Join("; ", outside)}");
        await _page.Locator("#governance-panel").ScrollIntoViewIfNeededAsync();
        await ScreenshotAsync("governance-390.png");
        await _page.Locator("#halt-cancel").ClickAsync();
        Assert.Equal(JsonValueKind.Null, (await GovernanceAsync()).GetProperty("halted").ValueKind);

        // The turn ends: the slot is free, and bob, waiting, is granted it.
        Ok(await alice.CallAsync(Turn(turn, 0.1)));
        Assert.True(Ok(await bobsTurn).TryGetProperty("turn_id", out _), "bob was granted his turn");
        await Expect(_page.Locator("#governance-running > li[data-agent=bob]")).ToBeVisibleAsync();
        await Expect(_page.Locator("#governance-queue > li")).ToHaveCountAsync(0);
        await Expect(Row("bob").Locator(".badge.held")).ToHaveCountAsync(0);
        AssertNoErrors();
    }

    private Task ScreenshotAsync(string name) => Screenshots.SaveAsync(_page, name);

    /// <summary>A record_turn that ends <paramref name="turnId"/> and counts its cost.</summary>
    private static Dictionary<string, object?> Turn(long turnId, double costUsd)
    {
        var now = DateTimeOffset.UtcNow;
        return new Dictionary<string, object?>
        {
            ["op"] = "record_turn",
            ["turn_id"] = turnId,
            ["cost_usd"] = costUsd,
            ["model"] = "claude-test",
            ["wake_from"] = "message",
            ["result_kind"] = "ok",
            ["started_at"] = UtcTimestamp.Format(now.AddSeconds(-3)),
            ["ended_at"] = UtcTimestamp.Format(now),
            ["duration_ms"] = 3000,
            ["input_tokens"] = 1000,
            ["output_tokens"] = 200,
            ["cache_read_tokens"] = 0,
            ["cache_creation_tokens"] = 0,
            ["tool_call_count"] = 1,
            ["tools"] = new Dictionary<string, long> { ["Bash"] = 1 },
            ["open_threads_count"] = 0,
            ["open_reminders_count"] = 0,
            ["note"] = null,
        };
    }
}
