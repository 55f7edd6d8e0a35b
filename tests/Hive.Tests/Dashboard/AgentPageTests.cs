using Hive.Tests.Architecture;
using Hive.Tests.Cli;
using Hive.Tests.Features.Governance;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// An agent's own page in a real browser against a real host: its badges from its row and last turn, its
/// stats windows drawn from GET /api/agents/{name}/stats, its open threads and messages live, linked from its row; at
/// 1280 and 390 px.
/// </summary>
public sealed class AgentPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private HiveInstance _hive = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _pageErrors = [];

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"]);

    public async Task DisposeAsync()
    {
        if (_context is not null) await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    private async Task OpenAsync(int width, int height)
    {
        if (_context is not null) await _context.CloseAsync();
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        _page.PageError += (_, error) => { lock (_pageErrors) _pageErrors.Add(error); };
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
    }

    [Fact]
    public async Task The_agents_page_shows_its_badges_stats_threads_and_messages_live_and_is_linked_from_its_row()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        for (var i = 0; i < 2; i++)
            AgentClient.Ok(await alice.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(alice), cost: 0.25, input: 1200, output: 300, model: "claude-page-1")));

        await OpenAsync(1280, 900);
        await _page.Locator("#swarm li[data-agent='alice'] a.agent-link").ClickAsync();
        await Expect(_page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/agents/alice$"));
        await Expect(_page.Locator("#ap-name")).ToHaveTextAsync("alice");
        await Expect(_page.Locator("#ap-badges [data-badge=model]")).ToHaveTextAsync("claude-page-1");
        await Expect(_page.Locator("#ap-badges [data-badge=context]")).ToHaveTextAsync("context 1200");
        await Expect(_page.Locator("#ap-badges [data-badge=cost]")).ToHaveTextAsync("today $0.5000");

        var turns = _page.Locator("#ap-stats .chart[data-metric=turns] .total");
        await Expect(turns).ToHaveTextAsync("2");
        await Expect(_page.Locator("#ap-stats .chart[data-metric=turns] rect")).ToHaveCountAsync(24);
        await _page.Locator("#ap-windows button[data-window='30d']").ClickAsync();
        await Expect(_page.Locator("#ap-stats .chart[data-metric=turns] rect")).ToHaveCountAsync(30);
        await Expect(_page.Locator("#ap-stats .chart[data-metric=tokens] .total")).ToHaveTextAsync("3000");

        // Live: a message to it, a question it asks, a third turn.
        await using (var bob = await _hive.ConnectAsync("bob")) await bob.SendAsync("alice", "<b>not html</b> please review");
        await Expect(_page.Locator("#ap-inbox li .body").First).ToHaveTextAsync("<b>not html</b> please review");
        await alice.CallAsync(new { op = "ask", question = "which branch?" });
        await Expect(_page.Locator("#ap-open li.open-question")).ToContainTextAsync("which branch?");
        AgentClient.Ok(await alice.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(alice), cost: 0.25, model: "claude-page-2")));
        await Expect(_page.Locator("#ap-badges [data-badge=model]")).ToHaveTextAsync("claude-page-2");
        await Expect(turns).ToHaveTextAsync("3");
        await Expect(_page.Locator("#ap-badges [data-badge=cost]")).ToHaveTextAsync("today $0.7500");
        await ScreenshotAsync("agent-page-1280.png");

        await OpenAsync(390, 844);
        await _page.GotoAsync($"{_hive.BaseAddress}agents/alice");
        await Expect(_page.Locator("#ap-stats .chart[data-metric=turns] .total")).ToHaveTextAsync("3");
        Assert.True(await _page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scroll at 390 px");
        await ScreenshotAsync("agent-page-390.png");

        await _page.GotoAsync($"{_hive.BaseAddress}agents/nobody");
        await Expect(_page.Locator("#ap-missing")).ToContainTextAsync("No agent named nobody");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task The_transcript_grows_live_while_a_fake_command_prints_slowly_and_slash_commands_apply_to_the_next_turn()
    {
        var dir = Directory.CreateTempSubdirectory("hive-agentpage-").FullName;
        try
        {
            var go = Path.Combine(dir, "go");
            var script = Path.Combine(dir, "command.sh");
            await File.WriteAllTextAsync(script, $$$"""
                cat > /dev/null
                echo '{"type":"system","subtype":"init","session_id":"s-page-1","model":"fake-1"}'
                echo '{"type":"assistant","message":{"model":"fake-1","content":[{"type":"text","text":"<img src=x onerror=alert(1)> reading the log"}]}}'
                while [ ! -e '{{{go}}}' ]; do sleep 0.05; done
                echo '{"type":"assistant","message":{"model":"fake-1","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}]}}'
                echo '{"type":"result","subtype":"success","is_error":false,"result":"all done","session_id":"s-page-1","usage":{"input_tokens":3,"output_tokens":1}}'
                """);
            await OpenAsync(1280, 900);
            await _page.GotoAsync($"{_hive.BaseAddress}agents/alice");
            await Expect(_page.Locator("#ap-transcript-empty")).ToBeVisibleAsync();

            await using (var bob = await _hive.ConnectAsync("bob")) await bob.SendAsync("alice", "summarise the log");
            await using var harness = Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--", "/bin/sh", script]);
            // The first lines show while the command still waits to go on; the agent's text stays text.
            var first = _page.Locator("#ap-transcript li[data-kind=text]");
            await Expect(first).ToContainTextAsync("<img src=x onerror=alert(1)> reading the log");
            Assert.Equal(0, await _page.Locator("#ap-transcript img").CountAsync());
            Assert.False(File.Exists(go));
            await File.WriteAllTextAsync(go, "");
            await Expect(_page.Locator("#ap-transcript li[data-kind=tool_use]")).ToContainTextAsync("Bash");
            await Expect(_page.Locator("#ap-transcript li[data-kind=result]")).ToContainTextAsync("all done");
            // The host has the session the harness reported (else its log says why), then the page shows it.
            await HiveInstance.UntilAsync(async () =>
                (await _hive.GetJsonAsync("/api/agents/alice/conversation")).GetProperty("session_id").GetString() == "s-page-1",
                TimeSpan.FromSeconds(30), () => $"the session in the host; the harness said:\n{harness.Stderr}");
            await Expect(_page.Locator("#ap-conversation")).ToContainTextAsync("conversation s-page-1");

            await _page.Locator("#ap-slash-command").FillAsync("/clear");
            await _page.Locator("#ap-slash button").ClickAsync();
            await Expect(_page.Locator("#ap-conversation")).ToContainTextAsync("fresh next turn");
            Assert.Contains(_hive.QueryDbList<string>("SELECT action FROM interventions WHERE target = 'alice'"), a => a == "slash_clear");
            await _page.Locator("#ap-slash-command").FillAsync("/nonsense");
            var refused = _page.WaitForResponseAsync(r => r.Url.EndsWith("/api/agents/alice/slash", StringComparison.Ordinal));
            await _page.Locator("#ap-slash button").ClickAsync();
            Assert.Equal(400, (await refused).Status);
            await Expect(_page.Locator("#ap-slash-error")).ToContainTextAsync("(400)");
            Assert.Empty(_pageErrors);
            ProcessTable.Kill(harness.Pid, signal: 15);
            await harness.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await TestDirectories.DeleteAsync(dir);
        }
    }

    [Fact]
    public async Task A_terminal_programs_screen_shows_as_a_block_of_its_rows_and_stays_text()
    {
        var dir = Directory.CreateTempSubdirectory("hive-agentpage-pty-").FullName;
        try
        {
            await OpenAsync(1280, 900);
            await _page.GotoAsync($"{_hive.BaseAddress}agents/alice");
            await Expect(_page.Locator("#ap-transcript-empty")).ToBeVisibleAsync();

            await using (var bob = await _hive.ConnectAsync("bob")) await bob.SendAsync("alice", "<img src=x onerror=alert(1)> hello");
            await using var harness = Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--pty", "--", "python3", FakeTerminalProgram.WriteTo(dir), "cli"],
                env: new Dictionary<string, string> { ["FAKE_PTY_LOG"] = Path.Combine(dir, "program.log") }, workingDirectory: dir);
            var screen = _page.Locator("#ap-transcript li[data-kind=screen] pre.screen").Last;
            await Expect(screen).ToContainTextAsync("FROM BOB: <IMG SRC=X ONERROR=ALERT(1)> HELLO");
            Assert.Equal(0, await _page.Locator("#ap-transcript img").CountAsync());
            // Its rows as rows: a line each, never wrapped.
            Assert.Contains("\nreply: ", await screen.TextContentAsync());
            Assert.Equal("pre", await screen.EvaluateAsync<string>("e => getComputedStyle(e).whiteSpace"));
            Assert.Empty(_pageErrors);
            ProcessTable.Kill(harness.Pid, signal: 15);
            await harness.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await TestDirectories.DeleteAsync(dir);
        }
    }

    private Task ScreenshotAsync(string name) => Screenshots.SaveAsync(_page, name);
}
