using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The terminal in a real browser: the agent's row links to its terminal; the page (xterm.js, vendored) runs a shell in
/// a bubblewrap agent's sandbox that shows the agent's name and state dir and cannot read the hive's files; a narrower
/// window changes what <c>tput cols</c> says; closing the page leaves no process behind; screenshots at 1280 and 390 px.
/// </summary>
public sealed class TerminalPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private HiveInstance _hive = null!;
    private IBrowserContext? _context;
    private IPage _page = null!;
    private readonly List<string> _errors = [];

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync([]);

    public async Task DisposeAsync()
    {
        if (_context is not null) await _context.CloseAsync();
        await _hive.DisposeAsync();
    }

    private async Task SignInAsync(int width, int height)
    {
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        _page = await _context.NewPageAsync();
        _page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
        _page.Console += (_, message) => { if (message.Type == "error") lock (_errors) _errors.Add($"{message.Text} ({message.Location})"); };
        _page.PageError += (_, error) => { lock (_errors) _errors.Add(error); };
        await _page.GotoAsync(_hive.SignInUrl!.ToString());
        await _page.UntilLiveAsync();
    }

    private Task ScreenshotAsync(string name) => Screenshots.SaveAsync(_page, name, fullPage: false);

    private ILocator Screen => _page.Locator("#terminal .xterm-rows");

    /// <summary>Types a line into the terminal as the operator would.</summary>
    private async Task TypeAsync(string line)
    {
        await _page.Locator("#terminal .xterm-helper-textarea").FocusAsync();
        await _page.Keyboard.TypeAsync(line);
        await _page.Keyboard.PressAsync("Enter");
    }

    private async Task<int> ColumnsAsync(string tag)
    {
        await TypeAsync($"echo \"{tag}=<$(tput cols)>\"");
        var pattern = new Regex(tag + @"=<(\d+)>");
        await Expect(Screen).ToContainTextAsync(pattern);
        return int.Parse(pattern.Match(await Screen.InnerTextAsync()).Groups[1].Value);
    }

    [Fact]
    public async Task The_terminal_page_runs_a_shell_in_the_agents_sandbox_resizes_and_leaves_nothing_behind()
    {
        const string name = "shell-bw";
        var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name, driver = "bubblewrap", command = new[] { "/bin/sh", "-c", "exec sleep 1000" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await SignInAsync(1280, 800);

        // The row links to it.
        var link = _page.Locator($"#agents > li[data-agent={name}] a.terminal");
        await Expect(link).ToHaveAttributeAsync("href", $"/agents/{name}/terminal");

        await _page.GotoAsync(new Uri(_hive.BaseAddress, $"/agents/{name}/terminal").ToString());
        await Expect(_page.Locator("#terminal-state")).ToHaveAttributeAsync("data-state", "live");
        await Expect(_page.Locator("#terminal-agent")).ToHaveTextAsync($"{name} · terminal");
        await Expect(Screen).ToContainTextAsync("$"); // the prompt: typed before it, the line would be echoed twice

        await TypeAsync("echo \"<$HIVE_AGENT>\"; echo \"[$(pwd)]\"");
        await Expect(Screen).ToContainTextAsync($"[/agents/{name}/state]");
        await Expect(Screen).ToContainTextAsync($"<{name}>");

        // Nothing of the hive's: not its database, not the operator's token.
        await TypeAsync($"cat {_hive.DatabasePath} {Path.Combine(_hive.DataDir, "operator-token")}; echo \"<cat:$?>\"");
        await Expect(Screen).ToContainTextAsync("<cat:1>");
        Assert.DoesNotContain(_hive.Token!, await Screen.InnerTextAsync());
        Assert.DoesNotContain("SQLite format", await Screen.InnerTextAsync());
        await ScreenshotAsync("terminal-1280.png");

        var wide = await ColumnsAsync("wide");
        var size = await _page.Locator("#terminal").GetAttributeAsync("data-size");
        await _page.SetViewportSizeAsync(390, 760);
        await Expect(_page.Locator("#terminal")).Not.ToHaveAttributeAsync("data-size", size!);
        await TypeAsync("clear");
        var narrow = await ColumnsAsync("narrow");
        Assert.True(narrow < wide / 2, $"tput cols said {wide}, then {narrow} at 390 px");
        Assert.Equal(narrow.ToString(), (await _page.Locator("#terminal").GetAttributeAsync("data-size"))!.Split('x')[0]);
        var scrollWidth = await _page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.True(scrollWidth <= 390, $"the page scrolls sideways at 390 px ({scrollWidth})");
        await TypeAsync("echo \"<$HIVE_AGENT>\"; ls -a");
        await Expect(Screen).ToContainTextAsync($"<{name}>");
        await ScreenshotAsync("terminal-390.png");

        // Closing the page ends the shell and what it started.
        await TypeAsync("sleep 976531 & echo \"<bg:$!>\"");
        await Expect(Screen).ToContainTextAsync(new Regex(@"<bg:\d+>"));
        await HiveInstance.Until(() => ProcessTable.Find("sleep", "976531").Count == 1, Deadline, "the terminal's sleep");
        var sleeper = ProcessTable.Find("sleep", "976531");
        var shell = ProcessTable.SelfAndAncestors(sleeper[0]).Skip(1).First(); // the shell that started it
        await _page.CloseAsync();
        await ProcessTable.UntilGoneAsync([.. sleeper, shell]);
        // The agent is still running.
        var row = (await _hive.GetJsonAsync($"/api/agents/{name}"));
        Assert.Equal("running", row.GetProperty("state").GetString());
        lock (_errors) Assert.Empty(_errors);
    }

    [Fact]
    public async Task The_terminal_page_of_a_stopped_agent_says_so()
    {
        const string name = "shell-off";
        var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name, driver = "process", command = new[] { "/bin/sh", "-c", "exec sleep 1000" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _hive.Http.PostAsync($"/api/agents/{name}/stop", null)).StatusCode);
        await SignInAsync(1280, 800);
        await Expect(_page.Locator($"#agents > li[data-agent={name}] a.terminal")).ToHaveCountAsync(0);
        await _page.GotoAsync(new Uri(_hive.BaseAddress, $"/agents/{name}/terminal").ToString());
        await Expect(_page.Locator("#terminal-state")).ToContainTextAsync($"{name} is stopped");
    }
}
