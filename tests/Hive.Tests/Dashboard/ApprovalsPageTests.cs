using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The approvals section as an operator drives it (what the manager asked for, live; approve / deny
/// with a reason; a decision made elsewhere meanwhile shown as the host's 409) and the meta section (pinned inputs and
/// recent commits of the meta repo). The requests come from the manager's socket as the manager makes them; a spawn
/// that is approved starts a real process (driver <c>process</c>), which every test destroys and checks gone.
/// </summary>
public sealed class ApprovalsPageTests(BrowserFixture browser, ApprovalsPageTests.Fixture fixture)
    : ManagedAgentsPageTests(browser, fixture), IClassFixture<BrowserFixture>, IClassFixture<ApprovalsPageTests.Fixture>
{
    private static int s_made;

    /// <summary>The class's hive: a short stop grace, so cleaning up is quick.</summary>
    public sealed class Fixture : HiveFixture
    {
        protected override string[] Args => ["--Hive:Containers:StopGraceSeconds", "2"];
    }

    private string NewName(string prefix)
    {
        var name = $"{prefix}-{Interlocked.Increment(ref s_made)}";
        Agents.Add(name);
        return name;
    }

    /// <summary>A managed agent made by the operator through the API (running <c>sleep 1000</c>).</summary>
    private async Task<string> CreateAsync(string prefix)
    {
        var name = NewName(prefix);
        using var response = await Hive.Http.PostAsJsonAsync("/api/agents",
            new { name, command = new[] { "/bin/sh", "-c", "exec sleep 1000" }, driver = "process" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var row = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (row.TryGetProperty("pid", out var pid) && pid.ValueKind == JsonValueKind.Number) Pids.Add(pid.GetInt64());
        return name;
    }

    private static long ApprovalId(JsonElement reply) => AgentClient.Ok(reply).GetProperty("approval_id").GetInt64();

    private static Task<JsonElement> RequestSpawnAsync(AgentClient manager, string name, string purpose) =>
        manager.CallAsync(new { op = "request_spawn", name, purpose, command = new[] { "/bin/sleep", "1000" }, driver = "process" });

    private ILocator Card(long id) => Page.Locator($"#approvals > li[data-id=\"{id}\"]");

    private ILocator Decided(long id) => Page.Locator($"#approvals-decided > li[data-id=\"{id}\"]");

    private ILocator AgentRow(string name) => Page.Locator($"#agents > li[data-agent={name}]");

    /// <summary>Waits for the agent's row to show it running with a pid, and returns the pid (checked alive, kept for clean-up).</summary>
    private async Task<long> RunningPidAsync(string name)
    {
        var running = Page.Locator($"#agents > li[data-agent={name}][data-state=running][data-pid]:not([data-transient])");
        await running.WaitForAsync();
        var pid = long.Parse((await running.GetAttributeAsync("data-pid"))!);
        Pids.Add(pid);
        Assert.True(Directory.Exists($"/proc/{pid}"), $"pid {pid} is shown but not running");
        return pid;
    }

    /// <summary>The manager's system message about the approval (other messages in its inbox are acknowledged and passed over).</summary>
    private static async Task<JsonElement> ResolutionMessageAsync(AgentClient manager, long id)
    {
        for (var i = 0; i < 50; i++)
        {
            var message = await manager.RecvAndAckAsync(waitMs: (int)Deadline.TotalMilliseconds)
                ?? throw new Xunit.Sdk.XunitException($"no message about approval {id} reached the manager");
            if (message.GetProperty("kind").GetString() == "approval_resolved"
                && message.TryGetProperty("approval_id", out var about) && about.GetInt64() == id)
                return message;
        }
        throw new Xunit.Sdk.XunitException($"no message about approval {id} among the manager's next 50");
    }

    [Fact]
    public async Task A_spawn_request_appears_live_and_approving_it_starts_the_agent()
    {
        await OpenAsync();
        await using var manager = await Hive.ConnectAsync("manager");
        var name = NewName("ap-spawn");
        var id = ApprovalId(await RequestSpawnAsync(manager, name, "reads the nightly build logs"));

        var card = Card(id);
        await Expect(card.Locator(".badge.kind")).ToHaveTextAsync("new agent"); // live: no reload
        await Expect(card.Locator(".who.agent")).ToHaveTextAsync(name);
        await Expect(card.Locator(".requester")).ToHaveTextAsync("manager");
        await Expect(card.Locator(".purpose")).ToHaveTextAsync("reads the nightly build logs");
        await Expect(card.Locator(".command")).ToHaveTextAsync("$ /bin/sleep 1000");
        await Expect(card.Locator(".driver")).ToHaveTextAsync("process");
        await Expect(card.Locator(".created")).ToHaveTextAsync(new Regex("just now|s ago"));
        await Expect(Page.Locator("#approvals-count")).ToHaveTextAsync((await Page.Locator("#approvals > li").CountAsync()).ToString());
        await Expect(Page.Locator("#approvals-count")).ToHaveClassAsync(new Regex(@"\battention\b"));

        await card.Locator("button[data-action=approve]").ClickAsync();
        await Expect(card).ToHaveCountAsync(0); // from the approval_resolved event
        await Expect(Decided(id).Locator(".badge.status")).ToHaveTextAsync("approved");
        await RunningPidAsync(name);
        await Page.Locator(".toast", new() { HasText = $"new agent {name} approved" }).WaitForAsync();

        var message = await ResolutionMessageAsync(manager, id);
        Assert.Equal("approved", message.GetProperty("status").GetString());
        Assert.Equal(1, StateRequests); // all of it live, from the stream
        Assert.Empty(ConsoleErrors);
    }

    [Fact]
    public async Task A_destroy_request_shows_its_reason_and_a_deny_with_a_reason_tells_the_manager()
    {
        var name = await CreateAsync("ap-keep");
        await OpenAsync();
        await RunningPidAsync(name);
        await using var manager = await Hive.ConnectAsync("manager");
        var id = ApprovalId(await manager.CallAsync(new { op = "request_destroy", name, reason = "idle for a week" }));

        var card = Card(id);
        await Expect(card.Locator(".badge.kind")).ToHaveTextAsync("destroy");
        await Expect(card.Locator(".reason")).ToHaveTextAsync("reason: idle for a week");
        await card.Locator("input[name=reason]").FillAsync("still needed for the release");
        await card.Locator("button[data-action=deny]").ClickAsync();

        await Expect(card).ToHaveCountAsync(0);
        var decided = Decided(id);
        await Expect(decided.Locator(".badge.status")).ToHaveTextAsync("denied");
        await Expect(decided.Locator(".reason")).ToHaveTextAsync("reason: still needed for the release");
        var message = await ResolutionMessageAsync(manager, id);
        Assert.Equal("denied", message.GetProperty("status").GetString());
        Assert.Contains("still needed for the release", message.GetProperty("body").GetString());
        await Expect(AgentRow(name).Locator(".badge.state")).ToHaveTextAsync("running"); // denied: it stays
        Assert.Equal(1, StateRequests);
        Assert.Empty(ConsoleErrors);
    }

    [Fact]
    public async Task A_config_proposal_shows_its_diff_with_the_new_command_coloured_by_class()
    {
        var name = await CreateAsync("ap-conf");
        await OpenAsync();
        await using var manager = await Hive.ConnectAsync("manager");
        var id = ApprovalId(await manager.CallAsync(new
        {
            op = "propose_config", name,
            config = new { command = new[] { "/bin/sh", "-c", "exec sleep 2000" }, driver = "process", purpose = "a longer nap" },
        }));

        var card = Card(id);
        await Expect(card.Locator(".badge.kind")).ToHaveTextAsync("configuration change");
        await Expect(card.Locator(".purpose")).ToHaveTextAsync("a longer nap");
        var diff = card.Locator("pre.diff");
        await Expect(diff.Locator(".diff-add", new() { HasText = "exec sleep 2000" })).ToHaveCountAsync(1);
        await Expect(diff.Locator(".diff-del", new() { HasText = "exec sleep 1000" })).ToHaveCountAsync(1);
        await Expect(diff.Locator(".diff-add").First).ToHaveCSSAsync("color", "rgb(126, 231, 135)"); // green, from the stylesheet
        await Expect(diff.Locator(".diff-del").First).ToHaveCSSAsync("color", "rgb(255, 107, 107)"); // red
        Assert.Equal(0, await Page.Locator("#approvals [style]").CountAsync()); // classes, never inline styles (CSP)

        await card.Locator("button[data-action=deny]").ClickAsync(); // no rebuild: leave the agent as it is
        await Expect(card).ToHaveCountAsync(0);
        await Expect(Decided(id).Locator(".badge.status")).ToHaveTextAsync("denied");
        Assert.Equal(1, StateRequests);
        Assert.Empty(ConsoleErrors);
    }

    [Fact]
    public async Task A_decision_made_elsewhere_before_the_page_heard_of_it_is_shown_as_the_hosts_409()
    {
        await using var manager = await Hive.ConnectAsync("manager");
        var name = NewName("ap-race");
        var id = ApprovalId(await RequestSpawnAsync(manager, name, "raced"));

        // The page's stream is held back, so the page cannot hear of the decision before the operator clicks.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await Page.RouteAsync(new Regex("/api/events"), async route =>
        {
            await release.Task;
            await route.ContinueAsync();
        });
        await Page.GotoAsync(Hive.SignInUrl!.ToString());
        var card = Card(id);
        await Expect(card.Locator(".purpose")).ToHaveTextAsync("raced");

        using (var approved = await Hive.Http.PostAsync($"/api/approvals/{id}/approve", null))
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        await card.Locator("button[data-action=approve]").ClickAsync();
        var error = card.Locator(".action-error");
        await Expect(error).ToContainTextAsync($"approve: approval {id} was already approved (409)");
        await Page.Locator(".toast.bad", new() { HasText = "already approved" }).WaitForAsync();

        // The stream catches up: the card leaves for "recently decided", and the spawned agent runs.
        release.SetResult();
        await Page.UntilLiveAsync();
        await Expect(card).ToHaveCountAsync(0);
        await Expect(Decided(id).Locator(".badge.status")).ToHaveTextAsync("approved");
        await RunningPidAsync(name);
        Assert.Equal(1, StateRequests);
        Assert.DoesNotContain(ConsoleErrors, e => !e.Contains("the server responded with a status of 409", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_meta_section_lists_the_spawn_commits_and_follows_new_ones()
    {
        var first = await CreateAsync("ap-meta");
        await OpenAsync();
        var log = Page.Locator("#meta-log > li");
        await Expect(log).ToHaveCountAsync(0); // loaded only when opened

        await Page.Locator("#meta-box summary").ClickAsync();
        var commit = log.Filter(new() { HasText = $"{first}: spawned by the operator" });
        await Expect(commit).ToHaveCountAsync(1);
        await Expect(commit.Locator(".sha")).ToHaveTextAsync(new Regex("^[0-9a-f]{7}$"));
        Assert.Matches("^[0-9a-f]{40}$", await commit.Locator(".sha").GetAttributeAsync("title"));
        await Expect(commit.Locator(".ago")).ToHaveTextAsync(new Regex("just now|s ago"));
        await Expect(Page.Locator("#meta-error")).ToBeHiddenAsync();

        // While open, a spawn (a commit) reloads the log by itself: newest first.
        var second = await CreateAsync("ap-meta");
        await Expect(log.First).ToContainTextAsync($"{second}: spawned by the operator");

        await Page.Locator("#meta-refresh").ClickAsync();
        await Expect(log.Filter(new() { HasText = $"{first}: spawned by the operator" })).ToHaveCountAsync(1);
        await Expect(Page.Locator("#meta-refresh")).ToBeEnabledAsync(); // no load in flight

        // meta_inputs_changed (the host does not send it yet): the page's own handler, fed the event as the stream would.
        await Page.EvaluateAsync("""
            async () => {
              const { apply } = await import('/js/store.js');
              const { render } = await import('/js/render.js');
              apply.meta_inputs_changed({ inputs: [{ name: 'nixpkgs', source: 'github:NixOS/nixpkgs/nixos-unstable', pin: '0123456789abcdef0123456789abcdef01234567' }] });
              render('meta');
            }
            """);
        var input = Page.Locator("#meta-inputs > li[data-input=nixpkgs]");
        await Expect(input.Locator(".pin")).ToHaveTextAsync("0123456789ab");
        await Expect(input.Locator(".pin")).ToHaveAttributeAsync("title", "0123456789abcdef0123456789abcdef01234567");
        await Expect(input.Locator(".source")).ToHaveTextAsync("github:NixOS/nixpkgs/nixos-unstable");
        await Expect(Page.Locator("#meta-inputs-empty")).ToBeHiddenAsync();

        // "update inputs" asks the host; whatever it answers (success, or an error the page shows), the page says it.
        await Page.Locator("#meta-update").ClickAsync();
        await Expect(Page.Locator("#meta-error:not([hidden]), #meta-update-result:not([hidden])")).ToHaveCountAsync(1);
        Assert.Equal(1, StateRequests);
    }

    [Fact]
    public async Task Screenshot_of_the_approvals_and_the_meta_repo_at_1280_and_390_pixels()
    {
        Hive = OwnHive = await HiveInstance.StartAsync([], "--Hive:Containers:StopGraceSeconds", "2"); // only this story in the picture
        var worker = await CreateAsync("ap-worker");
        var idle = await CreateAsync("ap-idle");
        await using var manager = await Hive.ConnectAsync("manager");
        var denied = ApprovalId(await RequestSpawnAsync(manager, NewName("ap-extra"), "a third pair of hands"));
        using (var deny = await Hive.Http.PostAsJsonAsync($"/api/approvals/{denied}/deny", new { reason = "not this week" })) deny.EnsureSuccessStatusCode();
        ApprovalId(await manager.CallAsync(new { op = "request_destroy", name = idle, reason = "nothing to do since Tuesday" }));
        ApprovalId(await manager.CallAsync(new
        {
            op = "propose_config", name = worker,
            config = new { command = new[] { "/bin/sh", "-c", "exec sleep 2000" }, driver = "process", purpose = "reviews pull requests, slower" },
        }));
        var spawn = ApprovalId(await RequestSpawnAsync(manager, NewName("ap-scout"), "reads the nightly build logs and files issues"));

        var folder = Screenshots.Folder;
        foreach (var (width, height) in new[] { (1280, 800), (390, 844) })
        {
            await NewPageAsync(width, height);
            await OpenAsync();
            await Expect(Page.Locator("#approvals > li")).ToHaveCountAsync(3);
            await Expect(Card(spawn).Locator(".purpose")).ToContainTextAsync("nightly build logs");
            await Page.Locator("#meta-box summary").ClickAsync();
            await Expect(Page.Locator("#meta-log > li").First).ToContainTextAsync("spawned by the operator");
            var path = Path.Combine(folder, $"approvals-{width}.png");
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
            Assert.True(new FileInfo(path).Length > 10_000);
            Assert.True(await Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"horizontal overflow at {width}px");
        }
        Assert.Empty(ConsoleErrors);
    }
}
