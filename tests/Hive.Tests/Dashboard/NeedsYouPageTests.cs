using System.Text.RegularExpressions;
using Hive.Tests.Architecture;
using Hive.Tests.Features.Work;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// <c>/needs-you</c>, everything open for the operator on one phone-width page (questions with their
/// options, approvals, paused and failed agents, the halted hive), live from the stream, behind the sign-in, installable
/// (the manifest and its icons); and the dashboard's browser notifications while it is hidden. Each test has a hive of
/// its own (a halt is hive-wide; the page counts everything): alice and bob, external, and no restart after a crash (a
/// managed agent that crashes is failed at once).
/// </summary>
public sealed class NeedsYouPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _consoleErrors = [];
    private readonly List<string> _pageErrors = [];
    private readonly List<AgentClient> _clients = [];
    private readonly List<string> _ownFiles = [];

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob"],
            "--Hive:Containers:MaxRestarts", "0", "--Hive:Containers:StopGraceSeconds", "2");
        await NewContextAsync(390, 844);
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        foreach (var client in _clients) await client.DisposeAsync();
        await _hive.DisposeAsync();
        foreach (var file in _ownFiles) File.Delete(file);
    }

    private async Task NewContextAsync(int width, int height, BrowserNewContextOptions? options = null)
    {
        if (_context is not null) await _context.CloseAsync();
        options ??= new BrowserNewContextOptions();
        options.ViewportSize = new ViewportSize { Width = width, Height = height };
        _context = await browser.Browser.NewContextAsync(options);
        _page = await NewPageAsync();
    }

    private async Task<IPage> NewPageAsync()
    {
        var page = await _context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        page.Console += (_, message) => { if (message.Type == "error") lock (_consoleErrors) _consoleErrors.Add($"{message.Text} ({message.Location})"); };
        page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        return page;
    }

    /// <summary>The sign-in link, opened on /needs-you: the host signs the browser in and sends it back there.</summary>
    private Uri SignInToNeedsYou => new(_hive.BaseAddress, "/needs-you?token=" + Uri.EscapeDataString(_hive.Token!));

    private async Task OpenAsync()
    {
        await _page.GotoAsync(SignInToNeedsYou.ToString());
        try
        {
            await _page.UntilLiveAsync();
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"not live: {await _page.Locator("#connection").TextContentAsync()}; {string.Join("; ", _pageErrors.Concat(_consoleErrors))}");
        }
        Assert.Equal("/needs-you", new Uri(_page.Url).PathAndQuery); // the token left the address bar
    }

    private async Task<AgentClient> ConnectAsync(string agent)
    {
        var client = await _hive.ConnectAsync(agent);
        _clients.Add(client);
        return client;
    }

    private ILocator Question(string text) => _page.Locator("#ny-questions > li").Filter(new() { HasText = text });

    private ILocator Approval(long id) => _page.Locator($"#ny-approvals > li[data-id=\"{id}\"]");

    private ILocator Agent(string name) => _page.Locator($"#ny-agents > li[data-agent={name}]");

    private async Task<long> RequestSpawnAsync(string name)
    {
        var manager = await ConnectAsync("manager");
        var reply = AgentClient.Ok(await manager.CallAsync(new { op = "request_spawn", name, purpose = "reads the nightly logs", command = new[] { "/bin/sleep", "1000" }, driver = "process" }));
        return reply.GetProperty("approval_id").GetInt64();
    }

    private void AssertNoErrors()
    {
        Assert.Empty(_pageErrors);
        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task NeedsYou_at_390_pixels_shows_a_question_with_options_and_an_approval_that_leave_live_when_decided()
    {
        await OpenAsync();
        await Expect(_page.Locator("#ny-empty")).ToBeVisibleAsync();
        await Expect(_page).ToHaveTitleAsync("Needs you · Hive");

        var alice = await ConnectAsync("alice");
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "deploy <b>now</b>?", options = new[] { "yes", "no", "later" } }));
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "which branch should I base it on?" }));
        var id = await RequestSpawnAsync("scout");
        using (var pause = await _hive.Http.PostAsync("/api/governance/agents/bob/pause", null)) Assert.Equal(HttpStatusCode.OK, pause.StatusCode);

        var question = Question("deploy <b>now</b>?");
        await Expect(question.Locator("button.option")).ToHaveTextAsync(["yes", "no", "later"]);
        await Expect(question.Locator("b")).ToHaveCountAsync(0); // text, never HTML
        await Expect(question.Locator("input[name=answer]")).ToHaveCountAsync(0); // options: one button each
        await Expect(Question("which branch").Locator("input[name=answer]")).ToBeVisibleAsync(); // no options: free text
        await Expect(Approval(id)).ToContainTextAsync("new agent scout");
        await Expect(Approval(id)).ToContainTextAsync("reads the nightly logs");
        await Expect(_page.Locator("#ny-empty")).ToBeHiddenAsync();
        await Expect(Agent("bob").Locator("button[data-action=resume]")).ToBeVisibleAsync();
        await Expect(_page).ToHaveTitleAsync("(4) Needs you · Hive");
        await Expect(_page.Locator("#needs-counts")).ToHaveTextAsync("2 questions · 1 approval · 1 agent");

        // Phone width: nothing scrolls sideways, and every button is a big tap target.
        Assert.True(await _page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390px");
        var small = await _page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('#dashboard button')].filter(b => b.offsetParent !== null)
              .filter(b => b.getBoundingClientRect().height < 40).map(b => b.textContent)
            """);
        Assert.True(small.Length == 0, $"small tap targets: {string.Join(", ", small)}");
        await ScreenshotAsync("needs-you-390.png");

        // One tap answers: the asker hears it, and the item leaves (from the stream's question_resolved).
        await question.Locator("button.option", new() { HasText = "later" }).ClickAsync();
        var answer = (await alice.RecvAndAckAsync(waitMs: (int)Deadline.TotalMilliseconds))!.Value;
        Assert.Equal("answer", answer.GetProperty("kind").GetString());
        Assert.Equal("later", answer.GetProperty("body").GetString());
        await Expect(question).ToHaveCountAsync(0);

        // Free text where there are no options.
        await Question("which branch").Locator("input[name=answer]").FillAsync("main");
        await Question("which branch").Locator("button[type=submit]").ClickAsync();
        Assert.Equal("main", (await alice.RecvAndAckAsync(waitMs: (int)Deadline.TotalMilliseconds))!.Value.GetProperty("body").GetString());
        await Expect(Question("which branch")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#ny-questions-panel")).ToBeHiddenAsync();

        await Approval(id).Locator("button[data-action=approve]").ClickAsync();
        await Expect(Approval(id)).ToHaveCountAsync(0);
        // Approved: scout runs (seen on the dashboard, in a second tab), and is destroyed again.
        var dashboard = await NewPageAsync();
        await dashboard.GotoAsync(_hive.BaseAddress.ToString());
        await dashboard.Locator("#agents > li[data-agent=scout][data-state=running][data-pid]:not([data-transient])").WaitForAsync();
        await dashboard.CloseAsync();
        using (var destroyed = await _hive.Http.DeleteAsync("/api/agents/scout"))
            Assert.True(destroyed.IsSuccessStatusCode, $"destroy scout: {destroyed.StatusCode} {await destroyed.Content.ReadAsStringAsync()}");
        await Agent("bob").Locator("button[data-action=resume]").ClickAsync();
        await Expect(Agent("bob")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#ny-empty")).ToBeVisibleAsync();
        await Expect(_page).ToHaveTitleAsync("Needs you · Hive");
        AssertNoErrors();
    }

    [Fact]
    public async Task NeedsYou_drops_an_item_decided_elsewhere_and_shows_a_refusal_beside_its_item()
    {
        await OpenAsync();
        var alice = await ConnectAsync("alice");
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "merge or rebase?", options = new[] { "merge", "rebase" } }));
        var first = await RequestSpawnAsync("first");
        var second = await RequestSpawnAsync("second");
        await Expect(Approval(first)).ToBeVisibleAsync();
        await Expect(Approval(second)).ToBeVisibleAsync();

        // Decided through the API (another tab, hivectl): gone here without a tap.
        using (var deny = await _hive.Http.PostAsJsonAsync($"/api/approvals/{first}/deny", new { })) Assert.Equal(HttpStatusCode.OK, deny.StatusCode);
        await Expect(Approval(first)).ToHaveCountAsync(0);
        var id = _hive.QueryDb<long>("SELECT id FROM questions WHERE question = 'merge or rebase?'");
        using (var answered = await _hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = "merge" }))
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        await Expect(Question("merge or rebase?")).ToHaveCountAsync(0);

        // A refusal the host gives (here as if decided meanwhile) stays beside the item, as text.
        await _page.RouteAsync($"**/api/approvals/{second}/approve", route => route.FulfillAsync(new()
        {
            Status = 409, ContentType = "application/problem+json",
            Body = """{"title":"conflict","status":409,"detail":"approval <i>already</i> decided"}""",
        }));
        await Approval(second).Locator("button[data-action=approve]").ClickAsync();
        var error = Approval(second).Locator(".action-error");
        await Expect(error).ToHaveTextAsync(new Regex(@"^approve: approval <i>already</i> decided \(409\)"));
        await Expect(error.Locator("i")).ToHaveCountAsync(0);
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task NeedsYou_lists_a_review_waiting_for_the_operator_once_with_its_diff_and_approving_it_queues_the_ticket()
    {
        await using var repository = LocalRepository.Create(new Dictionary<string, string> { ["README.md"] = "a project\n" });
        await _hive.PutWorkflowAsync("reviewed", WorkKit.ReviewedWorkflow(repository.Path));
        var (paused, body) = await _hive.SendJsonAsync(HttpMethod.Post, "/api/merge-queue/pause", new { repository = repository.Path });
        Assert.True(paused == HttpStatusCode.OK, body.ToString()); // approved, it stays queued here
        var ann = await _hive.NewAgentAsync("ann", "code");
        long id;
        await using (var socket = await _hive.ConnectAsync(ann))
        {
            (id, _) = await _hive.ClaimNewTicketAsync(socket, "reviewed");
            await WorkKit.CommitAsync(_hive, ann, new Dictionary<string, string> { ["hello.txt"] = "hello\n" }, "hello");
            WorkKit.Ok(await socket.CallAsync(new { op = "ticket_submit", id, summary = "said hello" }));
        }
        await HiveInstance.Until(() => _hive.QueryDb<string?>("SELECT reviewer FROM tickets WHERE id = @id", new { id }) == "operator", Deadline, "the review asked of the operator");

        await OpenAsync();
        var review = _page.Locator($"#ny-reviews li.review[data-ticket='{id}']");
        await Expect(review).ToContainTextAsync($"#{id} Say hello");
        await Expect(review.Locator("a.diff-link")).ToHaveAttributeAsync("href", $"/tickets/{id}");
        await Expect(_page.Locator("#ny-questions li.question")).ToHaveCountAsync(0); // its question is this review: listed once
        await Expect(_page.Locator("#needs-counts")).ToHaveTextAsync("1 review");
        await Screenshots.SaveAsync(_page, "needs-you-review-390.png");

        await review.Locator("button[data-action=approve]").ClickAsync();
        await Expect(review).ToHaveCountAsync(0);
        Assert.Equal("queued", _hive.QueryDb<string>("SELECT state FROM merge_queue WHERE ticket_id = @id", new { id }));
        await Expect(_page.Locator("#ny-empty")).ToBeVisibleAsync();
        AssertNoErrors();
    }

    [Fact]
    public async Task NeedsYou_resumes_a_paused_agent_and_the_halted_hive()
    {
        using (var pause = await _hive.Http.PostAsync("/api/governance/agents/bob/pause", null)) Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        await OpenAsync();
        var bob = Agent("bob");
        await Expect(bob.Locator(".badge.paused-badge")).ToBeVisibleAsync();
        await Expect(_page).ToHaveTitleAsync("(1) Needs you · Hive");

        await bob.Locator("button[data-action=resume]").ClickAsync();
        await Expect(bob).ToHaveCountAsync(0);
        Assert.Equal(0, (await _hive.GetJsonAsync("/api/governance")).GetProperty("paused").GetArrayLength());

        // Paused live, and halted live: both show, and Resume the hive resumes it.
        using (var pause = await _hive.Http.PostAsync("/api/governance/agents/alice/pause", null)) Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        await Expect(Agent("alice").Locator("button[data-action=resume]")).ToBeVisibleAsync();
        using (var halt = await _hive.Http.PostAsJsonAsync("/api/governance/halt", new { reason = "<b>upgrading</b>" })) Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
        var halted = _page.Locator("#ny-halted");
        await Expect(halted).ToBeVisibleAsync();
        await Expect(halted.Locator(".halt-reason")).ToHaveTextAsync("<b>upgrading</b>");
        await Expect(_page.Locator("#needs-counts")).ToHaveTextAsync("1 agent · hive halted");
        await _page.Locator("#ny-resume-hive").ClickAsync();
        await Expect(halted).ToBeHiddenAsync();
        Assert.Equal(JsonValueKind.Null, (await _hive.GetJsonAsync("/api/governance")).GetProperty("halted").ValueKind);
        await Agent("alice").Locator("button[data-action=resume]").ClickAsync();
        await Expect(Agent("alice")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#ny-empty")).ToBeVisibleAsync();
        AssertNoErrors();
    }

    [Fact]
    public async Task NeedsYou_shows_an_agent_held_by_its_budget_and_why()
    {
        await OpenAsync();
        using (var put = await _hive.Http.PutAsJsonAsync("/api/governance/budgets/alice", new { daily_usd = 0.0 }))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var alice = await ConnectAsync("alice");
        var held = AgentClient.Ok(await alice.CallAsync(new { op = "begin_turn" })).GetProperty("held");
        Assert.Equal("budget", held.GetProperty("reason").GetString());
        var row = Agent("alice");
        await Expect(row).ToHaveAttributeAsync("data-held", "budget");
        await Expect(row.Locator(".badge.held-budget")).ToHaveTextAsync("held: over budget");
        await Expect(row.Locator("button")).ToHaveCountAsync(0); // Resume would not help: a higher cap does
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task NeedsYou_shows_a_failed_agent_and_Start_starts_it()
    {
        // It fails on its first run (no restart is allowed here) and runs on its second: the marker is this test's file.
        var marker = Path.Combine(Path.GetTempPath(), $"hive-needs-you-{Guid.NewGuid():N}");
        _ownFiles.Add(marker);
        await OpenAsync();
        using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new
        {
            name = "flaky", driver = "process",
            command = new[] { "/bin/sh", "-c", $"if [ -e {marker} ]; then exec sleep 1000; else touch {marker}; exit 3; fi" },
        }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var flaky = Agent("flaky");
        await Expect(flaky.Locator(".badge.state-failed")).ToBeVisibleAsync();
        await Expect(flaky).ToContainTextAsync("exit code 3");
        // The hive asks about it too (the crash-loop question), with its options as buttons.
        var hiveAsks = _page.Locator("#ny-questions > li[data-asker=hive]").Filter(new() { HasText = "flaky kept crashing" });
        await Expect(hiveAsks.Locator("button.option")).ToHaveTextAsync(["restart it", "leave it stopped"]);

        await flaky.Locator("button[data-action=start]").ClickAsync();
        await Expect(flaky).ToHaveCountAsync(0);
        var row = (await _hive.GetJsonAsync("/api/state")).GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("name").GetString() == "flaky");
        Assert.Equal("running", row.GetProperty("state").GetString());
        using (var destroyed = await _hive.Http.DeleteAsync("/api/agents/flaky"))
            Assert.True(destroyed.IsSuccessStatusCode, $"{(int)destroyed.StatusCode}: {await destroyed.Content.ReadAsStringAsync()}");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task NeedsYou_without_sign_in_shows_only_the_sign_in_screen_and_pasting_the_token_comes_back_to_it()
    {
        var alice = await ConnectAsync("alice");
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "secret plans?", options = new[] { "yes" } }));
        using (var anonymous = _hive.CreateClient(signedIn: false))
        {
            using var state = await anonymous.GetAsync("/api/state");
            Assert.Equal(HttpStatusCode.Unauthorized, state.StatusCode);
            using var page = await anonymous.GetAsync("/needs-you");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode); // the page itself, as the dashboard's, holds nothing of the hive
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("secret plans", await page.Content.ReadAsStringAsync());
        }

        await _page.GotoAsync(new Uri(_hive.BaseAddress, "/needs-you").ToString());
        await _page.Locator("#connection[data-state=signed-out]").WaitForAsync();
        await Expect(_page.Locator("#sign-in")).ToBeVisibleAsync();
        await Expect(_page.Locator("#dashboard")).ToBeHiddenAsync();
        await Expect(_page.Locator("#needs-counts")).ToBeHiddenAsync();
        Assert.DoesNotContain("secret plans", await _page.ContentAsync());

        await _page.Locator("#sign-in-token").FillAsync(_hive.Token!);
        await _page.Locator("#sign-in-form button[type=submit]").ClickAsync();
        await _page.UntilLiveAsync();
        Assert.Equal("/needs-you", new Uri(_page.Url).PathAndQuery);
        await Expect(Question("secret plans?").Locator("button.option")).ToHaveTextAsync(["yes"]);

        // Signing out on the dashboard, in another tab, signs this page out too.
        var dashboard = await NewPageAsync();
        await dashboard.GotoAsync(_hive.BaseAddress.ToString());
        await dashboard.UntilLiveAsync();
        await dashboard.Locator("#sign-out").ClickAsync();
        await _page.Locator("#connection[data-state=signed-out]").WaitForAsync();
        await Expect(_page.Locator("#dashboard")).ToBeHiddenAsync();
        await Expect(_page).ToHaveTitleAsync("Needs you · Hive");

        // A wrong link on /needs-you signs nothing in and comes back to its sign-in screen with the note.
        await NewContextAsync(390, 844);
        await _page.GotoAsync(new Uri(_hive.BaseAddress, "/needs-you?token=wrong").ToString());
        await Expect(_page.Locator("#sign-in-failed")).ToBeVisibleAsync();
        Assert.Equal("/needs-you", new Uri(_page.Url).AbsolutePath);
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task NeedsYou_sign_in_link_signs_in_and_returns_to_needs_you_without_the_token()
    {
        using var browserLike = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = _hive.BaseAddress };
        using var right = await browserLike.GetAsync(SignInToNeedsYou);
        Assert.Equal(HttpStatusCode.SeeOther, right.StatusCode);
        Assert.Equal("/needs-you", right.Headers.Location?.OriginalString);
        Assert.Contains(right.Headers.GetValues("Set-Cookie"), c => c.StartsWith("hive_session=", StringComparison.Ordinal));
        using var wrong = await browserLike.GetAsync("/needs-you?token=wrong");
        Assert.Equal(HttpStatusCode.SeeOther, wrong.StatusCode);
        Assert.Equal("/needs-you#sign-in-failed", wrong.Headers.Location?.OriginalString);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));
        // Only the two pages sign in: a token elsewhere is nothing but a query string.
        using var elsewhere = await browserLike.GetAsync("/needs-you.html?token=" + Uri.EscapeDataString(_hive.Token!));
        Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
        Assert.False(elsewhere.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task NeedsYou_manifest_is_served_with_its_content_type_and_names_icons_served_as_png()
    {
        using var anonymous = _hive.CreateClient(signedIn: false); // the browser fetches a manifest without credentials
        using var manifest = await anonymous.GetAsync("/manifest.webmanifest");
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Equal("application/manifest+json", manifest.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(await manifest.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("/needs-you", json.GetProperty("start_url").GetString());
        Assert.Equal("standalone", json.GetProperty("display").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("name").GetString()));
        Assert.False(string.IsNullOrEmpty(json.GetProperty("short_name").GetString()));
        Assert.False(string.IsNullOrEmpty(json.GetProperty("theme_color").GetString()));
        var icons = json.GetProperty("icons").EnumerateArray().ToList();
        Assert.Equal(["192x192", "512x512"], icons.Select(i => i.GetProperty("sizes").GetString()).Order());
        foreach (var icon in icons)
        {
            using var png = await anonymous.GetAsync(icon.GetProperty("src").GetString());
            Assert.Equal(HttpStatusCode.OK, png.StatusCode);
            Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
            var bytes = await png.Content.ReadAsByteArrayAsync();
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
            var size = int.Parse(icon.GetProperty("sizes").GetString()!.Split('x')[0]);
            Assert.Equal(size, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4))); // IHDR width
        }

        // Both pages link it.
        await _page.GotoAsync(new Uri(_hive.BaseAddress, "/needs-you").ToString());
        await Expect(_page.Locator("link[rel=manifest]")).ToHaveAttributeAsync("href", "/manifest.webmanifest");
        await _page.GotoAsync(_hive.BaseAddress.ToString());
        await Expect(_page.Locator("link[rel=manifest]")).ToHaveAttributeAsync("href", "/manifest.webmanifest");
    }

    /// <summary>
    /// Records every Notification the page constructs (then lets the browser's own make it) and lets the test say when
    /// the page is hidden: what the page did, not what the OS showed.
    /// </summary>
    private const string RecordNotifications = """
        (() => {
          window.__notes = [];
          window.__hidden = false;
          Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => window.__hidden ? 'hidden' : 'visible' });
          Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => window.__hidden });
          const Real = window.Notification;
          if (!Real) return;
          function Recording(title, options) {
            window.__notes.push({ title, body: options?.body ?? null, tag: options?.tag ?? null });
            try { return new Real(title, options); } catch { return { close() {} }; }
          }
          Object.defineProperty(Recording, 'permission', { get: () => Real.permission });
          Recording.requestPermission = (...args) => Real.requestPermission(...args);
          window.Notification = Recording;
        })();
        """;

    private sealed record Note(string Title, string? Body, string? Tag);

    [Fact]
    public async Task Dashboard_raises_browser_notifications_while_hidden_once_allowed()
    {
        await NewContextAsync(1280, 900);
        await _context.GrantPermissionsAsync(["notifications"], new() { Origin = _hive.BaseAddress.GetLeftPart(UriPartial.Authority) });
        await _page.AddInitScriptAsync(RecordNotifications);
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
        var control = _page.Locator("#notify");
        await Expect(control).ToHaveTextAsync("Notifications on"); // granted already (the operator allowed it before)
        await Expect(control).ToHaveAttributeAsync("aria-pressed", "true");

        // Visible: the page shows it, nothing is raised.
        var alice = await ConnectAsync("alice");
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "seen already?" }));
        await Expect(_page.Locator("#questions-pending > li", new() { HasText = "seen already?" })).ToBeVisibleAsync();

        // Hidden (another tab in front): a new question, an approval, an agent gone failed (and the hive's question about
        // it), a halt each raise one, tagged by item.
        await _page.EvaluateAsync("() => { window.__hidden = true; document.dispatchEvent(new Event('visibilitychange')); }");
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "ship it tonight?", options = new[] { "yes", "no" } }));
        var id = _hive.QueryDb<long>("SELECT id FROM questions WHERE question = 'ship it tonight?'");
        var approval = await RequestSpawnAsync("scout");
        using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name = "broken", driver = "process", command = new[] { "/bin/sh", "-c", "exit 3" } }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using (var halt = await _hive.Http.PostAsJsonAsync("/api/governance/halt", new { reason = "maintenance" })) Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
        await _page.WaitForFunctionAsync("""
            () => ['Hive halted by ', 'broken failed', 'Question from hive'].every(t => window.__notes.some(n => n.title.startsWith(t)))
            """);
        var notes = (await _page.EvaluateAsync<JsonElement>("() => window.__notes")).EnumerateArray()
            .Select(n => new Note(n.GetProperty("title").GetString()!, n.GetProperty("body").GetString(), n.GetProperty("tag").GetString())).ToArray();
        var crashLoop = _hive.QueryDb<long>("SELECT id FROM questions WHERE asker = 'hive' AND question LIKE 'broken kept crashing%'");
        Assert.Equal(
            [new Note("Question from alice", "ship it tonight?", $"question:{id}"),
             new Note("Approval asked: new agent scout", "asked by manager", $"approval:{approval}")],
            notes.Take(2));
        Assert.Equal(5, notes.Length); // nothing for "seen already?" (visible then), nothing twice
        Assert.Contains(new Note("broken failed", "exit code 3; it is not restarted: start it by hand", "failed:broken"), notes);
        Assert.Equal($"question:{crashLoop}", notes.Single(n => n.Title == "Question from hive").Tag);
        Assert.Equal("maintenance", notes.Single(n => n.Title.StartsWith("Hive halted", StringComparison.Ordinal)).Body);

        // Turned off on the page: a hidden page raises nothing more.
        await control.ClickAsync();
        await Expect(control).ToHaveTextAsync("Notify me");
        AgentClient.Ok(await alice.CallAsync(new { op = "ask", question = "still there?" }));
        await Expect(_page.Locator("#questions-pending > li", new() { HasText = "still there?" })).ToHaveCountAsync(1);
        Assert.Equal(notes.Length, await _page.EvaluateAsync<int>("() => window.__notes.length"));
        AssertNoErrors();
    }

    [Fact]
    public async Task Dashboard_Notify_me_asks_the_browser_for_permission()
    {
        await NewContextAsync(1280, 900);
        await _page.AddInitScriptAsync("""
            window.__asked = 0;
            Object.defineProperty(Notification, 'permission', { configurable: true, get: () => window.__asked ? 'granted' : 'default' });
            Notification.requestPermission = async () => { window.__asked++; return 'granted'; };
            """);
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
        var control = _page.Locator("#notify");
        await Expect(control).ToHaveTextAsync("Notify me");
        await control.ClickAsync();
        await Expect(control).ToHaveTextAsync("Notifications on");
        Assert.Equal(1, await _page.EvaluateAsync<int>("() => window.__asked"));
        AssertNoErrors();
    }

    private Task ScreenshotAsync(string name) => Screenshots.SaveAsync(_page, name);
}
