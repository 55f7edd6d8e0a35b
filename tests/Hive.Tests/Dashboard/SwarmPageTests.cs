using System.Text.RegularExpressions;
using Hive.Tests.Architecture;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The swarm section as an operator drives it: each managed agent's container state, transient
/// overlay, restarts, last exit, driver and purpose; start / stop / restart / destroy from its row; its log; the
/// tombstones with their size and purge; the host's refusals shown in the page. The agents are real processes
/// (driver <c>process</c>); every test destroys the agents it made and checks their processes are gone.
/// </summary>
public sealed class SwarmPageTests(BrowserFixture browser, SwarmPageTests.Fixture fixture)
    : ManagedAgentsPageTests(browser, fixture), IClassFixture<BrowserFixture>, IClassFixture<SwarmPageTests.Fixture>
{
    private static int s_made;

    /// <summary>
    /// The class's hive, with the default stop grace written out: an agent that ignores SIGTERM is busy for 5 s. (2 s was too
    /// short on a loaded CI machine: a SIGTERMed agent's supervisor could take longer to report its exit, and was SIGKILLed.)
    /// </summary>
    public sealed class Fixture : HiveFixture
    {
        protected override string[] Args => ["--Hive:Containers:StopGraceSeconds", "5"];
    }

    private static bool ProcessExists(long pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>A managed agent (driver process) made through the API, with a name no other test uses.</summary>
    private async Task<string> SpawnAsync(string prefix, string script, string? purpose = null)
    {
        var name = $"{prefix}-{Interlocked.Increment(ref s_made)}";
        Agents.Add(name);
        using var response = await Hive.Http.PostAsJsonAsync("/api/agents",
            new { name, command = new[] { "/bin/sh", "-c", script }, driver = "process", purpose });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return name;
    }

    /// <summary>Prints one line, then sleeps.</summary>
    private const string Chatty = "echo \"hello from $HIVE_AGENT\"; exec /bin/sleep 1000";

    /// <summary>Ignores SIGTERM (and so does its sleep), so stopping it takes the whole grace period and then a SIGKILL.</summary>
    private const string Stubborn = "trap '' TERM; echo stubborn; while :; do /bin/sleep 1; done";

    private ILocator AgentRow(string name) => Page.Locator($"#agents > li[data-agent={name}]");

    private ILocator TombstoneRow(string name) => Page.Locator($"#tombstones > li[data-tombstone={name}]");

    /// <summary>Waits for the row to show running with a pid other than <paramref name="not"/>, and returns that pid.</summary>
    private async Task<long> RunningPidAsync(string name, long? not = null)
    {
        // One selector for the whole condition, so a row caught between two states (a restart's stop) never passes.
        var running = Page.Locator($"#agents > li[data-agent={name}][data-state=running][data-pid]:not([data-transient])"
            + (not is { } old ? $":not([data-pid=\"{old}\"])" : ""));
        await running.WaitForAsync();
        var pid = long.Parse((await running.GetAttributeAsync("data-pid"))!);
        var row = AgentRow(name);
        await Expect(row.Locator(".badge.state")).ToHaveTextAsync("running");
        await Expect(row.Locator(".pid")).ToHaveTextAsync($"pid {pid}");
        Assert.True(ProcessExists(pid), $"pid {pid} is shown but not running");
        Pids.Add(pid);
        return pid;
    }

    [Fact]
    public async Task A_hand_broken_meta_file_shows_on_its_agents_row_until_a_good_one_is_applied()
    {
        await OpenAsync();
        var name = await SpawnAsync("sw-meta", Chatty);
        await RunningPidAsync(name);
        var file = Path.Combine(Hive.DataDir, "meta", "agents", name + ".json");
        void Commit(string text, string message)
        {
            File.WriteAllText(file, text);
            var git = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("git")
            {
                WorkingDirectory = Path.GetDirectoryName(Path.GetDirectoryName(file))!,
                ArgumentList = { "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", message },
            })!;
            git.WaitForExit();
            Assert.Equal(0, git.ExitCode);
        }
        Commit("{ broken", "broken by hand");
        await using var manager = await Hive.ConnectAsync("manager");
        Assert.Equal("conflict", (await manager.CallAsync(new { op = "rebuild", name })).GetProperty("code").GetString());

        await Expect(AgentRow(name).Locator(".config-error")).ToContainTextAsync("not a valid configuration");
        await Expect(AgentRow(name)).ToHaveAttributeAsync("data-state", "running");

        Commit(System.Text.Json.JsonSerializer.Serialize(new { command = new[] { "/bin/sh", "-c", Chatty }, driver = "process" }), "fixed by hand");
        var rebuilt = await manager.CallAsync(new { op = "rebuild", name });
        Assert.True(rebuilt.GetProperty("ok").GetBoolean(), rebuilt.ToString());
        await Expect(AgentRow(name).Locator(".config-error")).ToHaveCountAsync(0);
        await RunningPidAsync(name);
    }

    [Fact]
    public async Task A_managed_agent_is_stopped_started_and_restarted_from_its_row()
    {
        await OpenAsync();
        var name = await SpawnAsync("sw-life", Chatty, purpose: "keeps the lights on");
        var row = AgentRow(name);
        var first = await RunningPidAsync(name);
        await Expect(row.Locator(".driver")).ToHaveTextAsync("process");
        await Expect(row.Locator(".purpose")).ToHaveTextAsync("keeps the lights on");
        await Expect(row.Locator(".restarts")).ToHaveTextAsync("0 restarts");
        await Expect(row.Locator("button[data-action=start]")).ToHaveCountAsync(0); // running: nothing to start

        await row.Locator("button[data-action=stop]").ClickAsync();
        await Expect(row.Locator(".badge.state")).ToHaveTextAsync("stopped");
        await Expect(row.Locator(".pid")).ToHaveCountAsync(0);
        await Expect(row.Locator(".last-exit")).ToContainTextAsync("last exit: signal 15 (SIGTERM)");
        await Expect(row.Locator("button[data-action=stop]")).ToHaveCountAsync(0);
        await HiveInstance.Until(() => !ProcessExists(first), Deadline, "the stopped agent's process is gone");
        await Page.Locator(".toast", new() { HasText = $"{name} stopped" }).WaitForAsync();

        await row.Locator("button[data-action=start]").ClickAsync();
        var second = await RunningPidAsync(name, not: first);

        await row.Locator("button[data-action=restart]").ClickAsync();
        var third = await RunningPidAsync(name, not: second);
        await HiveInstance.Until(() => !ProcessExists(second), Deadline, "the restarted agent's old process is gone");
        Assert.NotEqual(second, third);

        Assert.Equal(1, StateRequests); // all of it live, from the stream
        Assert.Empty(ConsoleErrors);
    }

    [Fact]
    public async Task Restart_shows_the_transient_overlay_and_a_refused_action_is_shown_in_the_row()
    {
        var name = await SpawnAsync("sw-busy", Stubborn);
        await OpenAsync();
        var row = AgentRow(name);
        var before = await RunningPidAsync(name);
        // Its trap is set once it has said so: a restart before that would end it at once, with no grace to show.
        await HiveInstance.Until(() => File.Exists(LogFile(name)) && File.ReadAllText(LogFile(name)).Contains("stubborn"), Deadline, "the trap set");

        await row.Locator("button[data-action=restart]").ClickAsync();
        // It ignores SIGTERM: the restart holds its transient for the whole 5 s grace, and the row says so.
        await Expect(row.Locator(".badge.transient")).ToHaveTextAsync("restarting…");
        await Expect(row).ToHaveAttributeAsync("data-transient", "restarting");

        // Meanwhile the operator asks for a stop: the host refuses (409) and the page says why, beside the agent.
        await row.Locator("button[data-action=stop]").ClickAsync();
        var error = row.Locator(".action-error");
        await Expect(error).ToContainTextAsync($"stop: {name} is busy (restarting)");
        await Expect(error).ToContainTextAsync("(409)");
        await Page.Locator(".toast.bad", new() { HasText = "is busy" }).WaitForAsync();

        // The restart carries on to the end; the error stays until dismissed.
        var after = await RunningPidAsync(name, not: before);
        await Expect(row.Locator(".badge.transient")).ToHaveCountAsync(0);
        await Expect(row.Locator(".last-exit")).ToContainTextAsync("signal 9 (SIGKILL)");
        await Expect(error).ToBeVisibleAsync();
        await error.Locator("button.dismiss").ClickAsync();
        await Expect(row.Locator(".action-error")).ToBeHiddenAsync();
        Assert.NotEqual(before, after);
        Assert.DoesNotContain(ConsoleErrors, e => !e.Contains("the server responded with a status of 409", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_logs_toggle_shows_what_the_agent_printed_and_refreshes()
    {
        var name = await SpawnAsync("sw-logs", Chatty);
        await OpenAsync();
        var row = AgentRow(name);
        await RunningPidAsync(name);
        // Running is not printed yet: the log is read once when opened (the host writes a line of its own first).
        await HiveInstance.Until(() => File.Exists(LogFile(name)) && File.ReadAllText(LogFile(name)).Contains($"hello from {name}"), Deadline, "the first line in the log");

        await row.Locator("details.logs summary").ClickAsync();
        var log = row.Locator(".log-body");
        await Expect(log).ToContainTextAsync($"hello from {name}");

        // A second life prints the line again; the open log keeps its place across the row's updates, and refresh shows it.
        var pid = long.Parse((await row.GetAttributeAsync("data-pid"))!);
        await row.Locator("button[data-action=restart]").ClickAsync();
        await RunningPidAsync(name, not: pid);
        await Expect(row.Locator("details.logs")).ToHaveAttributeAsync("open", "");
        await HiveInstance.Until(() => Regex.Matches(File.ReadAllText(LogFile(name)), $"hello from {name}").Count == 2, Deadline, "the second line in the log");
        await row.Locator("button.refresh-logs").ClickAsync();
        await Expect(log).ToHaveTextAsync(new Regex($"(?s)hello from {name}.*hello from {name}"));
    }

    /// <summary>The agent's log (stdout and stderr, outside its state dir).</summary>
    private string LogFile(string name) => Path.Combine(Hive.DataDir, "agents", name, "logs", "output.log");

    [Fact]
    public async Task Destroy_asks_first_leaves_a_tombstone_with_its_size_and_purge_deletes_the_dir()
    {
        var name = await SpawnAsync("sw-gone", Chatty);
        await OpenAsync();
        var row = AgentRow(name);
        var pid = await RunningPidAsync(name);
        await File.WriteAllBytesAsync(Path.Combine(Hive.DataDir, "agents", name, "state", "notes.bin"), new byte[300 * 1024]);

        await row.Locator("button[data-action=destroy]").ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        Assert.Contains(Dialogs, d => d.StartsWith($"Destroy {name}?", StringComparison.Ordinal));
        await HiveInstance.Until(() => !ProcessExists(pid), Deadline, "the destroyed agent's process is gone");
        Assert.DoesNotContain(name, await Page.Locator("#send-to option").AllInnerTextsAsync());

        var tombstone = TombstoneRow(name);
        await Expect(tombstone.Locator(".size")).ToHaveTextAsync(new Regex(@"^(30\d|31\d) KiB$")); // 300 KiB and change
        await Expect(tombstone.Locator(".destroyed")).ToHaveTextAsync(new Regex("just now|s ago"));
        var dir = Path.Combine(Hive.DataDir, "agents", name);
        Assert.True(Directory.Exists(dir));

        await tombstone.Locator("button.purge").ClickAsync();
        await Expect(tombstone).ToHaveCountAsync(0);
        Assert.Contains(Dialogs, d => d.StartsWith($"Delete {name}'s files?", StringComparison.Ordinal));
        await HiveInstance.Until(() => !Directory.Exists(dir), Deadline, "the purged state dir is gone");
        Assert.Equal(1, StateRequests);
        Assert.Empty(ConsoleErrors);
    }

    [Fact]
    public async Task External_agents_and_the_manager_show_only_the_buttons_that_apply()
    {
        var external = await Hive.NewAgentAsync("sw-ext");
        Agents.Add(external);
        await OpenAsync();

        var row = AgentRow(external);
        await Expect(row.Locator(".badge.state")).ToHaveTextAsync("external");
        // Hive runs nothing for it, but a pause holds it still (its recv hands nothing out).
        Assert.Equal(["Pause", "Destroy"], await row.Locator(".actions button").AllInnerTextsAsync());
        await Expect(row.Locator("details.logs")).ToHaveCountAsync(0);
        await Expect(AgentRow("manager").Locator("button[data-action=destroy]")).ToHaveCountAsync(0);

        // Destroying an external agent drops its socket and keeps its dir as a tombstone like any other.
        await row.Locator("button[data-action=destroy]").ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        await Expect(TombstoneRow(external)).ToBeVisibleAsync();
        Assert.False(File.Exists(Hive.SocketPath(external)));
    }

    [Fact]
    public async Task The_new_agent_form_takes_env_secrets_and_mounts_and_shows_what_the_host_refuses()
    {
        var name = $"sw-form-{Interlocked.Increment(ref s_made)}";
        Agents.Add(name);
        var secret = $"sw-key-{s_made}";
        var mount = Directory.CreateTempSubdirectory("hive-mount-").FullName;
        File.SetUnixFileMode(mount, (UnixFileMode)0b111_101_101); // the agent runs as a user of its own: it must reach the dir
        try
        {
            using (var put = await Hive.Http.PutAsJsonAsync($"/api/secrets/{secret}", new { value = "twelve-chars" })) put.EnsureSuccessStatusCode();
            await OpenAsync();
            await Page.Locator("#spawn-box summary").ClickAsync();
            var form = Page.Locator("#spawn-form");
            var error = Page.Locator("#spawn-error");
            await Expect(form.Locator("select[name=preset] option[value=claude-code]")).ToHaveCountAsync(1); // from GET /api/presets

            // Refused before asking the host: a command that is neither words nor a JSON array of strings; no command and no preset.
            await form.Locator("input[name=name]").FillAsync(name);
            await form.Locator("input[name=command]").FillAsync("[\"/bin/sleep\", 1000]");
            await form.Locator("select[name=driver]").SelectOptionAsync("process");
            await form.Locator("button[type=submit]").ClickAsync();
            await Expect(error).ToHaveTextAsync("the command must be a JSON array of strings");
            await form.Locator("input[name=command]").FillAsync("");
            await form.Locator("button[type=submit]").ClickAsync();
            await Expect(error).ToHaveTextAsync("Give a command, or choose a preset.");

            // Refused by the host: each of its errors on a line of its own, beside the form.
            await form.Locator("input[name=command]").FillAsync("/bin/sleep 1000");
            await form.Locator("textarea[name=env]").FillAsync("HIVE_AGENT=someone-else");
            await form.Locator("textarea[name=mounts]").FillAsync("relative/path");
            await form.Locator("button[type=submit]").ClickAsync();
            await Expect(error.Locator("p")).ToHaveTextAsync("The host refused it (400):");
            await Expect(error.Locator("li", new() { HasText = "HIVE_* belongs to the hive" })).ToHaveCountAsync(1);
            await Expect(error.Locator("li", new() { HasText = "mounts are absolute host paths" })).ToHaveCountAsync(1);
            await Expect(Page.Locator($"#agents > li[data-agent={name}]")).ToHaveCountAsync(0);

            // Accepted: the environment, a secret picked from the list (by name), a mount.
            await form.Locator("input[name=command]").FillAsync(
                "[\"/bin/sh\", \"-c\", \"echo \\\"$GREETING, a key of ${#SW_KEY} characters\\\"; exec /bin/sleep 1000\"]");
            await form.Locator("textarea[name=env]").FillAsync("GREETING=hello there\n");
            await form.Locator($".secret-picks button[data-secret={secret}]").ClickAsync();
            var variable = secret.ToUpperInvariant().Replace('-', '_');
            await Expect(form.Locator("textarea[name=secrets]")).ToHaveValueAsync($"{variable}={secret}");
            await form.Locator("textarea[name=secrets]").FillAsync($"SW_KEY={secret}");
            await form.Locator("textarea[name=mounts]").FillAsync(mount);
            await form.Locator("input[name=purpose]").FillAsync("naps");
            await form.Locator("button[type=submit]").ClickAsync();
            await Expect(form.Locator("input[name=name]")).ToHaveValueAsync(""); // accepted: cleared for the next one
            await Expect(error).ToBeHiddenAsync();
            await RunningPidAsync(name);
            await Expect(AgentRow(name).Locator(".purpose")).ToHaveTextAsync("naps");
            await HiveInstance.Until(() => File.Exists(LogFile(name)) && File.ReadAllText(LogFile(name)).Contains("hello there, a key of 12 characters"),
                Deadline, "the agent's greeting with its secret's length");
            var config = (await Hive.GetJsonAsync($"/api/agents/{name}/config")).GetProperty("config");
            Assert.Equal("hello there", config.GetProperty("env").GetProperty("GREETING").GetString());
            Assert.Equal(secret, config.GetProperty("secrets").GetProperty("SW_KEY").GetString());
            Assert.Equal([mount], config.GetProperty("mounts").EnumerateArray().Select(m => m.GetString()));

            // The same name again: the host's 409 is shown under the form.
            await form.Locator("input[name=name]").FillAsync(name);
            await form.Locator("input[name=command]").FillAsync("/bin/sleep 1000");
            await form.Locator("select[name=driver]").SelectOptionAsync("process");
            await form.Locator("button[type=submit]").ClickAsync();
            await Expect(error).ToHaveTextAsync($"there is already an agent named {name} (409)");
            Assert.Equal(1, await Page.Locator($"#agents > li[data-agent={name}]").CountAsync());
            Assert.DoesNotContain(ConsoleErrors, e => !Regex.IsMatch(e, "status of (400|409)"));
        }
        finally
        {
            Directory.Delete(mount);
            using var delete = await Hive.Http.DeleteAsync($"/api/secrets/{secret}");
        }
    }

    [Fact]
    public async Task An_agent_is_made_from_a_preset_chosen_in_the_form()
    {
        var name = $"sw-preset-{Interlocked.Increment(ref s_made)}";
        Agents.Add(name);
        var preset = $"sw-echo-{s_made}";
        var file = Path.Combine(Hive.DataDir, "meta", "presets", preset + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, System.Text.Json.JsonSerializer.Serialize(new
        {
            description = "a shell that says its purpose",
            program = "sh",
            command = new[] { "${program}", "-c", "echo \"$1\"; exec sleep 1000", "sh", "${greeting}" },
            text = new Dictionary<string, string> { ["greeting"] = "I am ${name}: ${purpose}" },
        }));
        try
        {
            await OpenAsync();
            await Page.Locator("#spawn-box summary").ClickAsync();
            var form = Page.Locator("#spawn-form");
            await form.Locator("select[name=preset]").SelectOptionAsync(preset);
            await Expect(Page.Locator("#spawn-preset-hint")).ToContainTextAsync("a shell that says its purpose");
            await Expect(form.Locator("input[name=command]")).ToBeDisabledAsync(); // the preset gives the command
            await form.Locator("input[name=name]").FillAsync(name);
            await form.Locator("input[name=purpose]").FillAsync("echoes");
            await form.Locator("select[name=driver]").SelectOptionAsync("process");
            await form.Locator("button[type=submit]").ClickAsync();

            await RunningPidAsync(name);
            await Expect(AgentRow(name).Locator(".command")).ToContainTextAsync($"I am {name}: echoes");
            await HiveInstance.Until(() => File.Exists(LogFile(name)) && File.ReadAllText(LogFile(name)).Contains($"I am {name}: echoes"), Deadline, "the preset's greeting");
            await Expect(Page.Locator("#spawn-error")).ToBeHiddenAsync();
            await Expect(form.Locator("input[name=command]")).ToBeEnabledAsync(); // reset: no preset again
            Assert.Empty(ConsoleErrors);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task An_agents_configuration_is_edited_reviewed_as_a_diff_and_applied_from_its_row()
    {
        var name = await SpawnAsync("sw-conf", Chatty, purpose: "before");
        await OpenAsync();
        var row = AgentRow(name);
        var before = await RunningPidAsync(name);

        await row.Locator("details.config summary").ClickAsync();
        var form = row.Locator("form.config-form");
        await Expect(form.Locator("input[name=purpose]")).ToHaveValueAsync("before");
        await Expect(form.Locator("input[name=command]")).ToHaveValueAsync("[\"/bin/sh\",\"-c\",\"echo \\\"hello from $HIVE_AGENT\\\"; exec /bin/sleep 1000\"]");
        var apply = form.Locator("button.apply");
        await Expect(apply).ToBeDisabledAsync();

        // Nothing changed: the review says so, and there is nothing to apply.
        await form.Locator("button.review").ClickAsync();
        await Expect(form.Locator(".config-diff")).ToContainTextAsync("No changes");
        await Expect(apply).ToBeDisabledAsync();

        // Refused by the host: its errors, listed.
        await form.Locator("textarea[name=env]").FillAsync("HIVE_AGENT=someone-else");
        await form.Locator("button.review").ClickAsync();
        await Expect(row.Locator(".form-problem li", new() { HasText = "HIVE_* belongs to the hive" })).ToHaveCountAsync(1);
        await Expect(apply).ToBeDisabledAsync();

        // A change: the diff as the approvals show one (same classes, same colours).
        await form.Locator("input[name=purpose]").FillAsync("after");
        await form.Locator("textarea[name=env]").FillAsync("COLOUR=blue");
        await form.Locator("button.review").ClickAsync();
        var diff = form.Locator(".config-diff pre.diff");
        await Expect(diff.Locator(".diff-add", new() { HasText = "\"purpose\": \"after\"" })).ToHaveCountAsync(1);
        await Expect(diff.Locator(".diff-del", new() { HasText = "\"purpose\": \"before\"" })).ToHaveCountAsync(1);
        await Expect(diff.Locator(".diff-add", new() { HasText = "\"COLOUR\": \"blue\"" })).ToHaveCountAsync(1);
        await Expect(diff.Locator(".diff-add").First).ToHaveCSSAsync("color", "rgb(126, 231, 135)");
        await Expect(diff.Locator(".diff-del").First).ToHaveCSSAsync("color", "rgb(255, 107, 107)");
        await Expect(row.Locator(".form-problem")).ToBeHiddenAsync();
        await Expect(apply).ToBeEnabledAsync();

        // Edited after the review: Apply waits for a new one.
        await form.Locator("input[name=purpose]").FillAsync("after all");
        await Expect(apply).ToBeDisabledAsync();
        await Expect(form.Locator(".config-diff")).ToBeHiddenAsync();
        await form.Locator("button.review").ClickAsync();
        await Expect(diff.Locator(".diff-add", new() { HasText = "\"purpose\": \"after all\"" })).ToHaveCountAsync(1);
        Assert.Equal("before", (await Hive.GetJsonAsync($"/api/agents/{name}/config")).GetProperty("config").GetProperty("purpose").GetString()); // a review changes nothing

        await apply.ClickAsync();
        await Page.Locator(".toast", new() { HasText = $"{name}: configuration applied" }).WaitForAsync();
        await Expect(row.Locator(".purpose")).ToHaveTextAsync("after all"); // live, from the row's event
        await Expect(row.Locator("details.config")).Not.ToHaveAttributeAsync("open", "");
        await RunningPidAsync(name, not: before); // rebuilt with the new configuration
        var config = (await Hive.GetJsonAsync($"/api/agents/{name}/config")).GetProperty("config");
        Assert.Equal("after all", config.GetProperty("purpose").GetString());
        Assert.Equal("blue", config.GetProperty("env").GetProperty("COLOUR").GetString());
        Assert.Equal(1, StateRequests);
        Assert.DoesNotContain(ConsoleErrors, e => !e.Contains("status of 400", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Screenshot_of_the_swarm_at_1280_and_390_pixels()
    {
        Hive = OwnHive = await HiveInstance.StartAsync([], "--Hive:Containers:StopGraceSeconds", "2"); // only this story in the picture
        var worker = await SpawnAsync("sw-worker", Chatty, purpose: "reviews pull requests");
        var napper = await SpawnAsync("sw-napper", Chatty, purpose: "stopped on purpose");
        using (var stop = await Hive.Http.PostAsync($"/api/agents/{napper}/stop", null)) stop.EnsureSuccessStatusCode();
        var doomed = await SpawnAsync("sw-doomed", Chatty);
        using (var destroy = await Hive.Http.DeleteAsync($"/api/agents/{doomed}")) destroy.EnsureSuccessStatusCode();

        var folder = Screenshots.Folder;
        foreach (var (width, height) in new[] { (1280, 800), (390, 844) })
        {
            await NewPageAsync(width, height);
            await OpenAsync();
            await RunningPidAsync(worker);
            await HiveInstance.Until(() => File.Exists(LogFile(worker)) && File.ReadAllText(LogFile(worker)).Contains("hello from"), Deadline, "the worker's line in its log");
            await AgentRow(worker).Locator("details.logs summary").ClickAsync();
            await Expect(AgentRow(worker).Locator(".log-body")).ToContainTextAsync("hello from");
            await Expect(AgentRow(napper).Locator(".badge.state")).ToHaveTextAsync("stopped");
            await Expect(TombstoneRow(doomed)).ToBeVisibleAsync();
            var path = Path.Combine(folder, $"swarm-{width}.png");
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
            Assert.True(new FileInfo(path).Length > 10_000);
            Assert.True(await Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"horizontal overflow at {width}px");
        }
    }
}
