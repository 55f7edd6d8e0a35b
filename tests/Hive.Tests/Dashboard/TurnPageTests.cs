using System.Net;
using Hive.Contracts.Gateway;
using Hive.Tests.Features.Gateway;
using Microsoft.Playwright;
using static Hive.Tests.Features.Containers.ContainersKit;
using static Microsoft.Playwright.Assertions;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Dashboard;

/// <summary>
/// A turn's view on the agent page in a real browser, against tess's two recorded turns (<see cref="ReplayHive"/>): what
/// woke the turn and its calls with their answers; "Replay", whose replay's page shows its turn beside the original's with
/// the send it captured; a replay that diverged, marked on both sides with what differs; and "Fork here", whose fork's
/// page links back to the turn it continues.
/// </summary>
public sealed class TurnPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private ReplayHive _kit = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _pageErrors = [];

    public async Task InitializeAsync()
    {
        _kit = await ReplayHive.StartAsync();
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        _page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
        await _page.GotoAsync(_kit.Hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
    }

    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        await _kit.DisposeAsync();
    }

    [Fact]
    public async Task A_turn_shows_what_woke_it_and_its_calls_and_its_replay_runs_beside_it_with_the_send_it_captured()
    {
        var (first, second) = await _kit.TwoTurnsAsync("tess");
        var heard = _kit.Model.Requests.Count;

        await _page.GotoAsync($"{_kit.Hive.BaseAddress}agents/tess?turn={second}");
        var turn = _page.Locator("#ap-turn");
        await Expect(turn.Locator("h3")).ToContainTextAsync($"Turn #{second}");
        await Expect(turn.Locator(".wake-message .body")).ToHaveTextAsync("again");
        await Expect(turn.Locator(".turn-call .answer .part-text pre")).ToHaveTextAsync(["Again?", "Then I wait again."]);
        await Expect(turn.Locator(".turn-call[data-state=complete]")).ToHaveCountAsync(2);
        await Expect(turn.Locator(".not-replayable")).ToHaveCountAsync(0);

        await turn.Locator("button.replay-turn").ClickAsync();
        var replay = turn.Locator(".replays li.replay");
        await Expect(replay).ToHaveAttributeAsync("data-state", "identical"); // replay_changed brings each step
        await Expect(replay).ToContainTextAsync("2 of 2 calls from the recording");
        Assert.Equal(heard, _kit.Model.Requests.Count);

        await replay.Locator("a.agent-link").ClickAsync();
        // The address, not the load event: after the click WaitForURLAsync sometimes waited out its 60 s for "load" (1 run in 3 here).
        await Expect(_page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/agents/tess-replay-{second}$"));
        await Expect(_page.Locator("#ap-lineage")).ToHaveTextAsync($"A replay of tess's turn #{second}");
        await Expect(_page.Locator("#ap-replay")).ToHaveAttributeAsync("data-state", "identical");
        await Expect(_page.Locator("#ap-replay-original .turn-call .answer .part-text pre")).ToHaveTextAsync(["Again?", "Then I wait again."]);
        await Expect(_page.Locator("#ap-replay-own .turn-call .answer .part-text pre")).ToHaveTextAsync(["Again?", "Then I wait again."]);
        await Expect(_page.Locator("#ap-replay-own .turn-call[data-state=replayed]")).ToHaveCountAsync(2);
        await Expect(_page.Locator("#ap-replay-own .captured-verb[data-verb=send] code")).ToContainTextAsync("Then I wait again.");
        await Expect(_page.Locator("#ap-replay .diverged")).ToHaveCountAsync(0);
        await Expect(_page.Locator("#ap-replay-differences .differences")).ToHaveCountAsync(0);

        // A replay with a changed system prompt: the first call is marked on both sides, with the two prompts. (Not named
        // "pirate": the replay's name reads as the original's in what is compared, so "a pirate" would read "a tess".)
        var diverged = await _kit.ReplayAsync(first, new { into = "changed", env = new Dictionary<string, string> { ["AGENT_SYSTEM"] = "You are a pirate." } });
        await _page.GotoAsync($"{_kit.Hive.BaseAddress}agents/changed");
        await Expect(_page.Locator("#ap-replay")).ToHaveAttributeAsync("data-state", "diverged");
        var system = _page.Locator("#ap-replay-differences .difference[data-path='$.system']");
        await Expect(system.Locator(".recorded")).ToHaveTextAsync("recorded: You are a careful agent.");
        await Expect(system.Locator(".replayed")).ToHaveTextAsync("replayed: You are a pirate.");
        await Expect(_page.Locator("#ap-replay-original .turn-call").First).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bdiverged\b"));
        await Expect(_page.Locator("#ap-replay-original .turn-call.diverged")).ToHaveCountAsync(1);
        await Expect(_page.Locator("#ap-replay-own .turn-call.diverged")).ToHaveAttributeAsync("data-state", "refused");
        await Expect(_page.Locator("#ap-replay-own .captured-verb")).ToHaveCountAsync(0);
        Assert.Equal(heard, _kit.Model.Requests.Count);

        await DestroyAsync(_kit.Hive, $"tess-replay-{second}");
        await DestroyAsync(_kit.Hive, diverged.Agent);
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task Fork_here_makes_a_fork_on_another_model_whose_page_links_back_to_the_turn()
    {
        var (first, _) = await _kit.TwoTurnsAsync("tess");
        _kit.Model.Enqueue(ModelReply.Text("Forked."), ModelReply.Text("Then I wait, forked."));

        await _page.GotoAsync($"{_kit.Hive.BaseAddress}agents/tess?turn={first}");
        var turn = _page.Locator("#ap-turn");
        await Expect(turn.Locator(".wake-message .body")).ToHaveTextAsync("hello");
        await turn.Locator("details.fork-here summary").ClickAsync();
        await turn.Locator("form.fork input[name=model]").FillAsync("claude-other");
        await turn.Locator("form.fork input[name=message]").FillAsync("what now?");
        await turn.Locator("form.fork button.fork-turn").ClickAsync();
        await Expect(turn.Locator(".fork-made a")).ToHaveTextAsync($"tess-fork-{first}");

        var asked = await _kit.Model.WaitForRequestAsync(r => r.IsMessages && r.Mentions("what now?"), Deadline);
        Assert.Equal("claude-other", asked.Model);

        // Bad input is refused beside the form, and makes nothing: the name is taken now.
        await turn.Locator("form.fork input[name=name]").FillAsync($"tess-fork-{first}");
        await turn.Locator("form.fork button.fork-turn").ClickAsync();
        await Expect(turn.Locator(".fork-error")).ToContainTextAsync("is taken");

        await turn.Locator(".fork-made a").ClickAsync();
        await Expect(_page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/agents/tess-fork-{first}$"));
        var lineage = _page.Locator("#ap-lineage");
        await Expect(lineage).ToHaveTextAsync($"A fork of tess's turn #{first}");
        await Expect(lineage.Locator("a")).ToHaveAttributeAsync("href", $"/agents/tess?turn={first}");
        await Expect(_page.Locator("#ap-replay-panel")).ToBeHiddenAsync();

        await DestroyAsync(_kit.Hive, $"tess-fork-{first}");
        using var gone = await _kit.Hive.Http.GetAsync($"/api/agents/tess-fork-{first}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task A_fork_the_manager_asks_for_shows_on_the_dashboard_as_an_approval_of_its_turn_model_and_message()
    {
        var (first, _) = await _kit.TwoTurnsAsync("tess");
        await using var manager = await _kit.Hive.ConnectAsync("manager");
        var id = (await manager.CallAsync(GatewayVerbs.RequestFork, new RequestForkArgs("tess", first, "claude-other", null, "<b>try</b> again"))).ApprovalId;

        await _page.GotoAsync(_kit.Hive.BaseAddress.ToString());
        var card = _page.Locator($"#approvals > li[data-id=\"{id}\"]");
        await Expect(card).ToHaveAttributeAsync("data-kind", "fork");
        await Expect(card.Locator(".fork-of")).ToHaveTextAsync($"a fork of tess at the end of turn #{first}, as tess-fork-{first}, on claude-other");
        await Expect(card.Locator(".message")).ToHaveTextAsync("its next message: <b>try</b> again"); // as text
        Assert.Equal(0, await card.Locator("b").CountAsync());
        Assert.Empty(_pageErrors);
    }
}
