using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The board in a real browser against a real host. A small workflow (<c>triage</c>: todo → doing (WIP
/// limit 1) → check (done when ticked) → closed, and a side phase) is PUT over HTTP, tickets are created over HTTP, and the
/// page moves them by HTML5 drag and drop (Playwright's <c>DragToAsync</c>, which chromium runs as real drag events): a
/// refused move shows its reason on the card and leaves it where it was, an accepted one moves it (the server agrees), and
/// a move by another client shows up live. Each test has a hive of its own, with alice for a lease.
/// </summary>
public sealed class BoardPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _pageErrors = [];

    /// <summary>The test's workflow: every phase worked (so the board's dispatch pulls nothing by itself), doing holds one.</summary>
    private const string Triage = """
        name: triage
        description: A small board for the page test.
        phases:
          - name: todo
            needs: [triage]
            allowed_transitions: [doing]
          - name: doing
            needs: [triage]
            wip_limit: 1
            allowed_transitions: [check, todo]
          - name: check
            needs: [triage]
            done_definition:
              - It works
            allowed_transitions: [closed, doing]
          - name: closed
            terminal: true
          - name: blocked
            side: true
        """;

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice"]);
        using var put = await _hive.Http.PutAsJsonAsync("/api/workflows/triage", new { yaml = Triage });
        Assert.True(put.IsSuccessStatusCode, $"PUT workflow: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
    }

    public async Task DisposeAsync()
    {
        if (_context is not null) await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    private async Task NewPageAsync(int width, int height)
    {
        if (_context is not null) await _context.CloseAsync();
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        _page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
    }

    /// <summary>Opens the dashboard and shows the triage board.</summary>
    private async Task OpenAsync(int width = 1280, int height = 900)
    {
        await NewPageAsync(width, height);
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
        await Expect(_page.Locator("#board-pick")).ToBeVisibleAsync(); // two workflows: the shipped one and triage
        await _page.Locator("#board-workflow").SelectOptionAsync("triage");
        await Expect(_page.Locator("#board-columns")).ToHaveAttributeAsync("data-workflow", "triage");
    }

    private async Task<long> CreateAsync(string title, int? priority = null, string[]? labels = null, long[]? dependsOn = null)
    {
        using var response = await _hive.Http.PostAsJsonAsync("/api/tickets", new { title, workflow = "triage", priority, labels, depends_on = dependsOn });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private async Task<HttpResponseMessage> MoveAsync(long id, string to) => await _hive.Http.PostAsJsonAsync($"/api/tickets/{id}/move", new { to });

    private async Task<string> PhaseAsync(long id) => (await _hive.GetJsonAsync($"/api/tickets/{id}")).GetProperty("ticket").GetProperty("phase").GetString()!;

    private ILocator Column(string phase) => _page.Locator($"#board-columns .board-column[data-phase='{phase}']");

    private ILocator Card(long id) => _page.Locator($"#board-columns .card[data-id='{id}']");

    private static string S(long id) => id.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Drag_into_a_full_column_shows_the_refusal_drag_into_room_moves_and_other_clients_moves_show_live()
    {
        var first = await CreateAsync("Write the parser", priority: 5, labels: ["parser"]);
        var second = await CreateAsync("Fix the login page");
        var third = await CreateAsync("Ship it", dependsOn: [first]);
        using (var moved = await MoveAsync(first, "doing")) Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        await OpenAsync();

        // Columns: the phases but the side one, in order; doing shows its WIP against its limit, full.
        Assert.Equal(["todo", "doing", "check", "closed"], await _page.Locator("#board-columns .board-column").EvaluateAllAsync<string[]>("cs => cs.map(c => c.dataset.phase)"));
        await Expect(Column("doing").Locator(".wip")).ToHaveTextAsync("1 / 1");
        await Expect(Column("doing")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bfull\b"));
        await Expect(Column("doing").Locator($".card[data-id='{first}']")).ToBeVisibleAsync();
        await Expect(Card(first).Locator(".ticket-title")).ToHaveTextAsync("Write the parser");
        await Expect(Card(first).Locator(".chip.priority")).ToHaveTextAsync("priority 5");
        await Expect(Card(first).Locator(".chip.label")).ToHaveTextAsync("parser");
        await Expect(Card(third).Locator(".chip.waiting-on")).ToHaveTextAsync($"waiting on #{first}");

        // Into the full column: refused, the reason on the card, the card where it was, and the server agrees.
        await Card(second).DragToAsync(Column("doing"));
        var refusal = Card(second).Locator(".move-refusal");
        await Expect(refusal).ToBeVisibleAsync();
        await Expect(refusal).ToContainTextAsync("Not moved to doing");
        await Expect(refusal).ToContainTextAsync("WIP limit");
        await Expect(Column("todo").Locator($".card[data-id='{second}']")).ToBeVisibleAsync();
        Assert.Equal("todo", await PhaseAsync(second));

        // Into a column with room: the card moves, and the server says so.
        await Card(first).DragToAsync(Column("check"));
        await Expect(Column("check").Locator($".card[data-id='{first}']")).ToBeVisibleAsync();
        Assert.Equal("check", await PhaseAsync(first));
        await Expect(Column("doing").Locator(".wip")).ToHaveTextAsync("0 / 1");
        await Expect(Column("doing")).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bfull\b"));

        // A gate refuses: each missing item is listed on the card.
        await Card(first).DragToAsync(Column("closed"));
        var gate = Card(first).Locator(".move-refusal");
        await Expect(gate).ToContainTextAsync("the gate of check refuses");
        await Expect(gate.Locator("ul.missing li")).ToHaveTextAsync("not ticked: It works");
        await Expect(Column("check").Locator($".card[data-id='{first}']")).ToBeVisibleAsync();
        Assert.Equal("check", await PhaseAsync(first));
        // Not a move the phase allows: said as well. Then × clears it.
        await Card(third).DragToAsync(Column("check"));
        await Expect(Card(third).Locator(".move-refusal")).ToContainTextAsync("todo moves only to doing");
        await Card(third).Locator(".move-refusal button.dismiss").ClickAsync();
        await Expect(Card(third).Locator(".move-refusal")).ToHaveCountAsync(0);

        // Another client (HTTP) moves the second ticket into doing: the page follows live, without a reload.
        using (var moved = await MoveAsync(second, "doing")) Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        await Expect(Column("doing").Locator($".card[data-id='{second}']")).ToBeVisibleAsync();
        await Expect(Column("doing").Locator(".wip")).ToHaveTextAsync("1 / 1");
        await Expect(Card(second).Locator(".move-refusal")).ToHaveCountAsync(0); // the refusal went with the move

        await Screenshots.SaveAsync(_page, "board-1280.png");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task The_drawer_shows_history_gates_context_and_leases_and_the_form_and_workflow_errors_show_live()
    {
        var id = await CreateAsync("Tidy the docs");
        await OpenAsync();

        // The new-ticket form: it appears in the first column once the host says so.
        await _page.Locator("#ticket-box summary").ClickAsync();
        await _page.Locator("#ticket-form input[name=title]").FillAsync("Add a changelog");
        await _page.Locator("#ticket-form input[name=priority]").FillAsync("3");
        await _page.Locator("#ticket-form select[name=workflow]").SelectOptionAsync("triage");
        await _page.Locator("#ticket-form input[name=labels]").FillAsync("docs, release");
        await _page.Locator("#ticket-button").ClickAsync();
        var created = Column("todo").Locator(".card", new() { HasText = "Add a changelog" });
        await Expect(created).ToBeVisibleAsync();
        await Expect(created.Locator(".chip.label")).ToHaveTextAsync(["docs", "release"]);

        // Moved twice over HTTP, with a note: the drawer shows the history (gate results), the phase's done definition, notes.
        using (var moved = await MoveAsync(id, "doing")) Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        using (var moved = await MoveAsync(id, "check")) Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        using (var note = await _hive.Http.PatchAsJsonAsync($"/api/tickets/{id}", new { note = "check the links too" })) Assert.True(note.IsSuccessStatusCode);
        await Expect(Column("check").Locator($".card[data-id='{id}']")).ToBeVisibleAsync();
        await Card(id).Locator(".ticket-title").ClickAsync();
        var drawer = _page.Locator("#ticket-drawer");
        await Expect(drawer).ToBeVisibleAsync();
        await Expect(_page.Locator("#drawer-title")).ToHaveTextAsync($"#{id} Tidy the docs");
        await Expect(drawer.Locator(".history-entry")).ToHaveCountAsync(3);
        await Expect(drawer.Locator(".history-entry").Nth(0)).ToContainTextAsync("created in todo");
        await Expect(drawer.Locator(".history-entry").Nth(2)).ToContainTextAsync("doing → check");
        await Expect(drawer.Locator(".done-definition")).ToContainTextAsync("It works");
        await Expect(drawer.Locator(".note")).ToContainTextAsync("check the links too");

        // A refused move from the drawer: the gate's missing item, in the drawer and on the card.
        await drawer.Locator(".drawer-move select").SelectOptionAsync("closed");
        await drawer.Locator(".drawer-move button[type=submit]").ClickAsync();
        await Expect(_page.Locator("#drawer-error")).ToContainTextAsync("not ticked: It works");
        await Expect(Card(id).Locator(".move-refusal")).ToContainTextAsync("not ticked: It works");

        // A note from the drawer: PATCH, and the drawer reloads with it.
        await drawer.Locator(".note-form input").FillAsync("ticked by hand later");
        await drawer.Locator(".note-form button").ClickAsync();
        await Expect(drawer.Locator(".note")).ToHaveCountAsync(2);

        // The ticket changes elsewhere (moved back): the open drawer follows.
        using (var moved = await MoveAsync(id, "doing")) Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        await Expect(drawer.Locator(".history-entry")).ToHaveCountAsync(4);

        // Leases: alice takes one; it shows live in the drawer's footer and beside the board.
        await using (var alice = await _hive.ConnectAsync("alice"))
        {
            var granted = await alice.CallAsync(new { op = "lease_acquire", resource = "docs/CHANGELOG.md", ttl_seconds = 600, exclusive = true, reason = "writing the changelog" });
            Assert.True(granted.GetProperty("ok").GetBoolean(), granted.ToString());
        }
        await Expect(drawer.Locator("#drawer-leases .lease")).ToContainTextAsync("docs/CHANGELOG.md");
        await Expect(drawer.Locator("#drawer-leases .lease")).ToContainTextAsync("alice");
        await Expect(_page.Locator("#board-leases .lease[data-holder=alice]")).ToHaveCountAsync(1);
        await Screenshots.SaveAsync(_page, "board-drawer-1280.png", fullPage: false);
        await _page.Locator("#drawer-close").ClickAsync();
        await Expect(drawer).ToBeHiddenAsync();

        // A workflow file that does not parse, written to the meta repo and reloaded: shown above the board with its line.
        Directory.CreateDirectory(Path.Combine(_hive.DataDir, "meta", "workflows"));
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "meta", "workflows", "broken.yaml"), "name: broken\nphases:\n  - name: a\n    wip_limit: lots\n");
        using (var reload = await _hive.Http.PostAsync("/api/workflows/reload", null)) Assert.True(reload.IsSuccessStatusCode);
        var error = _page.Locator("#board-errors .workflow-error[data-file='broken.yaml']");
        await Expect(error).ToBeVisibleAsync();
        await Expect(error).ToContainTextAsync("line 4");

        // One that loads with a phase tickets pass through: loaded, and its warning shown there too.
        await File.WriteAllTextAsync(Path.Combine(_hive.DataDir, "meta", "workflows", "passing.yaml"),
            "name: passing\nphases:\n  - name: backlog\n    allowed_transitions: [check]\n  - name: check\n    allowed_transitions: [done]\n  - name: done\n    terminal: true\n");
        using (var reload = await _hive.Http.PostAsync("/api/workflows/reload", null)) Assert.True(reload.IsSuccessStatusCode);
        var warning = _page.Locator("#board-errors .workflow-warning[data-workflow='passing']");
        await Expect(warning).ToBeVisibleAsync();
        await Expect(warning).ToContainTextAsync("phase 'check' has neither needs nor reviewed_by");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task The_drawer_shows_an_agents_submit_with_its_gate_the_context_it_handed_on_and_its_discovery()
    {
        using (var agent = await _hive.Http.PostAsJsonAsync("/api/agents", new { name = "dora", driver = "external", capabilities = new[] { "triage" } }))
            Assert.True(agent.IsSuccessStatusCode, $"create dora: {(int)agent.StatusCode} {await agent.Content.ReadAsStringAsync()}");
        var id = await CreateAsync("Sort the inbox");
        await using (var dora = await _hive.ConnectAsync("dora"))
        {
            async Task CallOkAsync(object request)
            {
                var reply = await dora.CallAsync(request);
                Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
            }
            await CallOkAsync(new { op = "ticket_claim", id });
            await CallOkAsync(new { op = "ticket_discover", parent = id, title = "Merge the duplicates", reason = "three reports of one bug" });
            await CallOkAsync(new { op = "ticket_submit", id, summary = "Sorted by area", outputs = new[] { new { kind = "note", value = "three duplicates found" } } });
        }
        Assert.Equal("doing", await PhaseAsync(id));
        await OpenAsync();

        await Card(id).Locator(".ticket-title").ClickAsync();
        var drawer = _page.Locator("#ticket-drawer");
        var submitted = drawer.Locator(".history-entry[data-to='doing']");
        await Expect(submitted).ToContainTextAsync("todo → doing");
        await Expect(submitted.Locator(".gate.passed")).ToBeVisibleAsync();
        await Expect(drawer.Locator(".context-entry")).ToContainTextAsync("Sorted by area");
        await Expect(drawer.Locator(".context-entry .outputs")).ToContainTextAsync("three duplicates found");
        var child = drawer.Locator(".children .child");
        await Expect(child).ToContainTextAsync("Merge the duplicates");
        await Expect(child).ToContainTextAsync("why: three reports of one bug");
        // The discovery is a ticket of its own on the board; its link opens its drawer, which names its parent.
        await child.Locator("a").ClickAsync();
        await Expect(_page.Locator("#drawer-title")).ToContainTextAsync("Merge the duplicates");
        await Expect(drawer.Locator(".facts")).ToContainTextAsync($"#{id}: three reports of one bug");
        await _page.Locator("#drawer-close").ClickAsync();

        // dora works it through doing and check (ticking its done definition): done, it lands in the terminal column live.
        await using (var dora = await _hive.ConnectAsync("dora"))
        {
            async Task CallOkAsync(object request)
            {
                var reply = await dora.CallAsync(request);
                Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
            }
            await CallOkAsync(new { op = "ticket_claim", id });
            await CallOkAsync(new { op = "ticket_submit", id, summary = "Merged by hand" });
            await Expect(Column("check").Locator($".card[data-id='{id}']")).ToBeVisibleAsync();
            await CallOkAsync(new { op = "ticket_claim", id });
            await CallOkAsync(new { op = "ticket_submit", id, summary = "Checked", done = new[] { "It works" } });
        }
        await Expect(Column("closed").Locator($".card.done[data-id='{id}']")).ToBeVisibleAsync();
        await Expect(Column("closed").Locator($".card[data-id='{id}'] select.move-to")).ToHaveCountAsync(0);
        // A reload of the page finds it there too (fetched: the snapshot has open tickets only).
        await _page.ReloadAsync();
        await Expect(Column("closed").Locator($".card.done[data-id='{id}']")).ToBeVisibleAsync();
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task At_390_px_the_board_is_a_list_by_column_and_move_to_moves_a_card()
    {
        var first = await CreateAsync("Sketch the phone view");
        var second = await CreateAsync("Write the copy");
        using (var moved = await MoveAsync(first, "doing")) Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        await OpenAsync(390, 844);

        Assert.True(await _page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390 px");
        // One column under the other, each as wide as the board.
        var boxes = await _page.Locator("#board-columns .board-column").EvaluateAllAsync<double[][]>(
            "cs => cs.map(c => { const r = c.getBoundingClientRect(); return [r.left, r.top, r.width]; })");
        Assert.Equal(4, boxes.Length);
        Assert.All(boxes.Skip(1), b => Assert.Equal(boxes[0][0], b[0], 1));
        Assert.True(boxes.Zip(boxes.Skip(1)).All(p => p.Second[1] > p.First[1]), "the columns are not stacked");
        var select = Card(second).Locator("select.move-to");
        await Expect(select).ToBeVisibleAsync();

        // Full: refused on the card. Then doing frees up and the same list moves it.
        await select.SelectOptionAsync("doing");
        await Expect(Card(second).Locator(".move-refusal")).ToContainTextAsync("WIP limit");
        using (var moved = await MoveAsync(first, "check")) Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        await Expect(Column("check").Locator($".card[data-id='{first}']")).ToBeVisibleAsync();
        await Card(second).Locator("select.move-to").SelectOptionAsync("doing");
        await Expect(Column("doing").Locator($".card[data-id='{second}']")).ToBeVisibleAsync();
        Assert.Equal("doing", await PhaseAsync(second));
        Assert.True(await _page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390 px");
        await _page.Locator("#board-panel").ScrollIntoViewIfNeededAsync();
        await Screenshots.SaveAsync(_page, "board-390.png", fullPage: false);
        Assert.Empty(_pageErrors);
    }
}
