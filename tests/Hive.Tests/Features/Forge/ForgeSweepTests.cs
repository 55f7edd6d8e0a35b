using Hive.Features.Forge;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Forge;

/// <summary>
/// The forge sweep against a fake Forgejo over real HTTP (<see cref="FakeForgejo"/>; no Forgejo can run here): what a
/// fresh forge gets, that a second sweep creates nothing, a spawn's identity, the meta push into a real bare repo, and
/// each injected fault logged, healed by the next sweep and never stopping a spawn. Each test has a forge and a hive of
/// its own (faults and counts are per forge); every one ends by checking that no token is in a log line, an event or a
/// problem body (<see cref="ForgeHive.DisposeAsync"/>).
/// </summary>
public sealed class ForgeSweepTests
{
    private static readonly UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task A_fresh_forge_gets_every_object_and_0600_tokens_and_a_second_sweep_creates_nothing()
    {
        await using var f = await ForgeHive.StartAsync(["alice", "bob"]);
        await f.StartUpSweepAsync();

        Assert.True(f.Forge.HasUser("core"));
        Assert.True(f.Forge.IsSiteAdmin("core"));
        Assert.False(f.Forge.HasOrg("core")); // users and orgs share Forgejo's namespace: core/meta is the core user's repo
        Assert.True(f.Forge.HasOrg("agents"));
        Assert.True(f.Forge.HasRepo("core", "meta"));
        var coreToken = await File.ReadAllTextAsync(f.CoreTokenFile);
        Assert.Equal(Private, File.GetUnixFileMode(f.CoreTokenFile));
        Assert.Equal("core", f.Forge.OwnerOf(coreToken));
        Assert.Contains("write:admin", f.Forge.ScopesOf(coreToken)!);
        foreach (var agent in new[] { "manager", "alice", "bob" })
        {
            Assert.True(f.Forge.HasUser(agent), agent);
            Assert.False(f.Forge.IsSiteAdmin(agent), agent);
            var file = f.TokenFileOf(agent);
            Assert.Equal(Private, File.GetUnixFileMode(file));
            var token = await File.ReadAllTextAsync(file);
            Assert.Equal(agent, f.Forge.OwnerOf(token));
            Assert.Equal(ForgeSweep.AgentScopes, f.Forge.ScopesOf(token)); // the seed's scopes: no admin, no packages
            var account = await f.AccountAsync(agent);
            Assert.True(account.GetProperty("user").GetBoolean());
            Assert.True(account.GetProperty("token").GetBoolean());
            Assert.Equal(JsonValueKind.Null, account.GetProperty("error").ValueKind);
        }

        var creates = f.Forge.CreatingCalls;
        var tokens = f.Forge.IssuedTokens.Count;
        var status = await f.SweepAsync();
        Assert.Equal(creates, f.Forge.CreatingCalls);
        Assert.Equal(tokens, f.Forge.IssuedTokens.Count);
        Assert.Equal(coreToken, await File.ReadAllTextAsync(f.CoreTokenFile));
        var core = status.GetProperty("core");
        Assert.True(core.GetProperty("orgs").GetBoolean() && core.GetProperty("meta_repo").GetBoolean(), core.ToString());
        Assert.Equal(JsonValueKind.Null, core.GetProperty("error").ValueKind);
        Assert.Equal(3, status.GetProperty("agents").EnumerateObject().Count());
    }

    [Fact]
    public async Task A_spawned_agent_gets_its_user_and_token_at_once_and_the_page_hears_it()
    {
        await using var f = await ForgeHive.StartAsync(["alice"]);
        await f.StartUpSweepAsync();
        await using var events = await f.Hive.OpenEventsAsync();

        Assert.Equal(HttpStatusCode.Created, await f.SpawnAsync(new { name = "carol", driver = "external" }));

        var e = await NextEventAsync(events, "forge_account_changed", e => e.GetProperty("agent").GetString() == "carol");
        Assert.True(e.GetProperty("forge").GetProperty("token").GetBoolean());
        Assert.True(f.Forge.HasUser("carol"));
        Assert.Equal("carol", f.Forge.OwnerOf(await File.ReadAllTextAsync(f.TokenFileOf("carol"))));
        Assert.Equal(Private, File.GetUnixFileMode(f.TokenFileOf("carol")));
    }

    [Fact]
    public async Task Each_meta_commit_lands_in_the_forges_core_meta_and_the_token_is_on_no_command_line()
    {
        await using var f = await ForgeHive.StartAsync(["alice"]);
        await f.StartUpSweepAsync();
        await AssertTheWatchSeesArgvAsync();
        f.Forge.GitDelay = TimeSpan.FromMilliseconds(300); // a push lives long enough to be seen in /proc
        await using (var watch = new ProcWatch(() => f.Forge.IssuedTokens))
        {
            await f.PushedAsync(await f.CommitToMetaAsync("tools"));
            await f.PushedAsync(await f.CommitToMetaAsync("models")); // and the next one

            Assert.Contains(watch.Seen, c => c.Contains("git", StringComparison.Ordinal) && c.Contains("push", StringComparison.Ordinal)); // it watched a push
            Assert.Empty(watch.Leaks);
        }
        var status = await f.GetJsonAsync("/api/forge");
        Assert.Equal(JsonValueKind.Null, status.GetProperty("last_push").GetProperty("error").ValueKind);
        Assert.DoesNotContain(f.Forge.IssuedTokens, t => status.ToString().Contains(t, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_push_is_logged_never_blocks_the_commit_and_the_next_commit_pushes_both()
    {
        await using var f = await ForgeHive.StartAsync(["alice"]);
        await f.StartUpSweepAsync();
        // The hive's own start-up commit (the shipped workflows) reaches the forge before the forge starts refusing.
        var startUp = (await f.GetJsonAsync("/api/meta")).GetProperty("log")[0].GetProperty("id").GetString()!;
        await f.PushedAsync(startUp);
        f.Forge.RefuseGit = true;

        var first = await f.CommitToMetaAsync("tools"); // the commit is made, whatever the forge does
        // (A push of the start-up commit asked for by the sweep may still come first, and fail too: the one to wait for is first's.)
        JsonElement push = default;
        await HiveInstance.Until(() =>
        {
            push = f.GetJsonAsync("/api/forge").GetAwaiter().GetResult().GetProperty("last_push");
            return push.ValueKind == JsonValueKind.Object && push.GetProperty("commit").GetString()?.StartsWith(first, StringComparison.Ordinal) == true
                   && push.GetProperty("error").ValueKind == JsonValueKind.String;
        }, TimeSpan.FromSeconds(30), "first's push failing");
        // Logged just after the failure is recorded: waited for, not read once.
        await HiveInstance.Until(() => f.Hive.Logs.Lines.Any(l => l.Text.Contains("pushing meta", StringComparison.Ordinal) && l.Text.Contains("500", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the failed push's warning");
        Assert.StartsWith(first, push.GetProperty("commit").GetString());
        Assert.Contains("git push failed", push.GetProperty("error").GetString());
        Assert.DoesNotContain(f.Forge.Log("core", "meta"), c => c.StartsWith(first, StringComparison.Ordinal));

        f.Forge.RefuseGit = false;
        var second = await f.CommitToMetaAsync("models");
        await f.PushedAsync(second);
        Assert.Contains(f.Forge.Log("core", "meta"), c => c.StartsWith(first, StringComparison.Ordinal));
    }

    /// <summary>The watch is not blind: a process with a secret in its argv is caught.</summary>
    private static async Task AssertTheWatchSeesArgvAsync()
    {
        const string secret = "procwatch-self-check-0f3c";
        await using var watch = new ProcWatch(() => [secret]);
        using var sleeper = System.Diagnostics.Process.Start("sh", ["-c", "sleep 30; true", secret]); // the secret is its $0
        try
        {
            await HiveInstance.Until(() => watch.Leaks.Count > 0, TimeSpan.FromSeconds(10), "the watch to see the sleeper's argv");
        }
        finally
        {
            sleeper.Kill();
            await sleeper.WaitForExitAsync();
        }
    }

    public static TheoryData<string, string> Faults => new()
    {
        { "500", "500" },
        { "no answer", "did not answer within 2 s" },
        { "reserved name", "422" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_failing_call_is_logged_never_stops_a_spawn_and_the_next_sweep_recovers(string fault, string logged)
    {
        // A short API timeout for the forge that does not answer (the others keep the default, which a loaded machine needs).
        await using var f = await ForgeHive.StartAsync(["alice"], null, fault == "no answer" ? ["--Hive:Forge:TimeoutSeconds", "2"] : []);
        await f.StartUpSweepAsync();
        switch (fault)
        {
            case "500": f.Forge.Inject("POST /admin/users", FakeForgejo.Fault.ServerError); break;
            case "no answer": f.Forge.Inject("POST /admin/users", FakeForgejo.Fault.NoAnswer); break;
            default: f.Forge.Reserve("carol"); break;
        }

        Assert.Equal(HttpStatusCode.Created, await f.SpawnAsync(new { name = "carol", driver = "external" }));
        var account = await f.AccountUntilAsync("carol", a => a.GetProperty("error").ValueKind == JsonValueKind.String, $"carol's account after the {fault}");
        Assert.Contains(f.Hive.Logs.Lines, l => l.Text.Contains("carol", StringComparison.Ordinal) && l.Text.Contains(logged, StringComparison.Ordinal));
        Assert.False(account.GetProperty("user").GetBoolean());
        Assert.False(account.GetProperty("token").GetBoolean());
        Assert.Contains("creating user carol", account.GetProperty("error").GetString());
        Assert.False(f.Forge.HasUser("carol")); // a 422 is not "it exists": the GET after it said 404
        Assert.False(File.Exists(f.TokenFileOf("carol")));
        Assert.NotNull(await RowAsync(f.Hive, "carol")); // the agent is there, forge or not

        f.Forge.Heal();
        await f.SweepAsync();
        account = await f.AccountAsync("carol");
        Assert.True(account.GetProperty("token").GetBoolean(), account.ToString());
        Assert.Equal(JsonValueKind.Null, account.GetProperty("error").ValueKind);
        Assert.Equal("carol", f.Forge.OwnerOf(await File.ReadAllTextAsync(f.TokenFileOf("carol"))));
    }

    [Fact]
    public async Task A_fault_in_the_start_up_sweep_skips_only_its_step_and_the_next_sweep_finishes_it()
    {
        await using var f = await ForgeHive.StartAsync(["alice"], forge => forge.Inject("POST /orgs", FakeForgejo.Fault.ServerError));
        await f.StartUpSweepAsync();

        var status = await f.GetJsonAsync("/api/forge");
        Assert.False(status.GetProperty("core").GetProperty("orgs").GetBoolean());
        Assert.Contains("creating org agents", status.GetProperty("core").GetProperty("error").GetString());
        Assert.Contains(f.Hive.Logs.Lines, l => l.Text.Contains("creating org agents", StringComparison.Ordinal) && l.Text.Contains("500", StringComparison.Ordinal));
        Assert.True(f.Forge.HasRepo("core", "meta")); // the next step still ran
        Assert.True(File.Exists(f.TokenFileOf("alice"))); // and the agents' steps

        f.Forge.Heal();
        status = await f.SweepAsync();
        Assert.True(f.Forge.HasOrg("agents"));
        Assert.True(status.GetProperty("core").GetProperty("meta_repo").GetBoolean());
        await f.PushedAsync(await f.CommitToMetaAsync("tools"));
    }

    [Fact]
    public async Task A_forge_user_of_an_agents_name_that_is_not_the_hives_is_left_alone()
    {
        await using var f = await ForgeHive.StartAsync(["alice", "bob"], forge => forge.AddUser("alice", "alice@people.example"));
        await f.StartUpSweepAsync();

        var alice = await f.AccountAsync("alice");
        Assert.Contains("not the hive's", alice.GetProperty("error").GetString());
        Assert.False(File.Exists(f.TokenFileOf("alice")));
        Assert.DoesNotContain(f.Forge.IssuedTokens, t => f.Forge.OwnerOf(t) == "alice"); // its password was not reset, no token minted
        Assert.True(File.Exists(f.TokenFileOf("bob")));
    }

    [Fact]
    public async Task A_fifo_or_a_link_an_agent_planted_as_its_token_file_neither_hangs_the_sweep_nor_is_followed()
    {
        // The agents own their state dirs: one plants a FIFO (reading it would block every sweep), one a link to a file
        // of the host's (writing through it would put a token there).
        var outside = Path.Combine(Path.GetTempPath(), $"hive-forge-target-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(outside, "the host's own file");
        await using var f = await ForgeHive.StartAsync(["alice", "bob", "carol"]);
        try
        {
            await f.StartUpSweepAsync();
            foreach (var agent in new[] { "alice", "bob" }) File.Delete(f.TokenFileOf(agent));
            Assert.Equal(0, Mkfifo(f.TokenFileOf("alice"), 0x180));
            File.CreateSymbolicLink(f.TokenFileOf("bob"), outside);

            await f.SweepAsync();
            Assert.Contains("not a regular file", (await f.AccountAsync("alice")).GetProperty("error").GetString());
            Assert.Contains("not a regular file", (await f.AccountAsync("bob")).GetProperty("error").GetString());
            Assert.Equal("the host's own file", await File.ReadAllTextAsync(outside));
            Assert.Equal(JsonValueKind.Null, (await f.AccountAsync("carol")).GetProperty("error").ValueKind); // the others are swept
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Fact]
    public async Task A_state_dir_that_cannot_take_a_token_gets_none_minted_and_the_others_are_swept()
    {
        await using var f = await ForgeHive.StartAsync(["alice", "bob"]);
        await f.StartUpSweepAsync();
        var aliceState = Path.GetDirectoryName(f.TokenFileOf("alice"))!;
        foreach (var agent in new[] { "alice", "bob" }) File.Delete(f.TokenFileOf(agent));
        Directory.Delete(aliceState, recursive: true);
        await File.WriteAllTextAsync(aliceState, "not a directory"); // nothing can be written below it
        var issued = f.Forge.IssuedTokens.Count;

        await f.SweepAsync();

        Assert.Contains("forge-token", (await f.AccountAsync("alice")).GetProperty("error").GetString()); // what could not be checked or written
        Assert.DoesNotContain(f.Forge.IssuedTokens.Skip(issued), t => f.Forge.OwnerOf(t) == "alice"); // none minted into the void
        Assert.True(File.Exists(f.TokenFileOf("bob")));
        Assert.Equal(issued + 1, f.Forge.IssuedTokens.Count);
        File.Delete(aliceState);
        Directory.CreateDirectory(aliceState);
    }

    [Fact]
    public async Task A_revoked_core_token_is_replaced_through_the_bootstrap_admin()
    {
        await using var f = await ForgeHive.StartAsync(["alice"]);
        await f.StartUpSweepAsync();
        var old = await File.ReadAllTextAsync(f.CoreTokenFile);
        f.Forge.Revoke(old); // the forge was reset, or an admin cleaned up

        var status = await f.SweepAsync();

        var fresh = await File.ReadAllTextAsync(f.CoreTokenFile);
        Assert.NotEqual(old, fresh);
        Assert.Equal("core", f.Forge.OwnerOf(fresh));
        Assert.Equal(JsonValueKind.Null, status.GetProperty("core").GetProperty("error").ValueKind);
        Assert.Contains(f.Hive.Logs.Lines, l => l.Text.Contains("was refused (401)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_departed_agents_tokens_are_revoked_and_its_user_and_a_persons_token_stay()
    {
        await using var f = await ForgeHive.StartAsync(["alice"]);
        await f.StartUpSweepAsync();
        Assert.Equal(HttpStatusCode.Created, await f.SpawnAsync(new { name = "carol", driver = "external" }));
        await HiveInstance.Until(() => File.Exists(f.TokenFileOf("carol")), TimeSpan.FromSeconds(30), "carol's token file");
        var token = await File.ReadAllTextAsync(f.TokenFileOf("carol"));
        var persons = f.Forge.MintToken("carol", "laptop"); // made by a person on the forge: not the hive's to revoke

        using (var destroyed = await f.Http.DeleteAsync("/api/agents/carol"))
            Assert.True(destroyed.IsSuccessStatusCode, $"{(int)destroyed.StatusCode}");

        // A copy of the token that outlived carol (a leak, a backup) stops working.
        await HiveInstance.Until(() => f.Forge.ScopesOf(token) is null, TimeSpan.FromSeconds(30), "carol's token revoked");
        Assert.True(f.Forge.HasUser("carol"));
        Assert.NotNull(f.Forge.ScopesOf(persons));
        Assert.NotNull(f.Forge.ScopesOf(await File.ReadAllTextAsync(f.TokenFileOf("alice")))); // nobody else's
    }

    [Fact]
    public async Task A_revocation_the_forge_refused_is_done_after_a_restart_from_the_tombstone()
    {
        await using var f = await ForgeHive.StartAsync(["alice"]);
        await f.StartUpSweepAsync();
        Assert.Equal(HttpStatusCode.Created, await f.SpawnAsync(new { name = "carol", driver = "external" }));
        await HiveInstance.Until(() => File.Exists(f.TokenFileOf("carol")), TimeSpan.FromSeconds(30), "carol's token file");
        var token = await File.ReadAllTextAsync(f.TokenFileOf("carol"));
        f.Forge.Inject("GET /users/{name}/tokens", FakeForgejo.Fault.ServerError); // the forge cannot list tokens for now

        using (var destroyed = await f.Http.DeleteAsync("/api/agents/carol"))
            Assert.True(destroyed.IsSuccessStatusCode, $"{(int)destroyed.StatusCode}");
        await HiveInstance.Until(() => f.Forge.Calls("GET /users/{name}/tokens") > 0, TimeSpan.FromSeconds(30), "a revocation tried");
        Assert.NotNull(f.Forge.ScopesOf(token)); // refused: still valid

        f.Forge.Heal();
        await f.Hive.RestartAsync(); // what the host held in memory is gone; carol's tombstone is not
        await HiveInstance.Until(() => f.Forge.ScopesOf(token) is null, TimeSpan.FromSeconds(30), "carol's token revoked after the restart");
        Assert.True(f.Forge.HasUser("carol"));
    }

    [Fact]
    public async Task A_reissued_token_revokes_the_earlier_ones_of_the_hive_only()
    {
        await using var f = await ForgeHive.StartAsync(["alice"]);
        await f.StartUpSweepAsync();
        var old = await File.ReadAllTextAsync(f.TokenFileOf("alice"));
        var persons = f.Forge.MintToken("alice", "laptop");
        File.Delete(f.TokenFileOf("alice")); // the agent lost it (or leaked it and removed it)

        await f.SweepAsync();

        var fresh = await File.ReadAllTextAsync(f.TokenFileOf("alice"));
        Assert.NotEqual(old, fresh);
        Assert.Null(f.Forge.ScopesOf(old));
        Assert.NotNull(f.Forge.ScopesOf(fresh));
        Assert.NotNull(f.Forge.ScopesOf(persons));
    }

    [Fact]
    public async Task A_push_is_not_redirected_with_the_core_token()
    {
        await using var f = await ForgeHive.StartAsync(["alice"]);
        await using var elsewhere = await FakeForgejo.StartAsync();
        await f.StartUpSweepAsync();
        f.Forge.RedirectGitTo = elsewhere.Url;

        await f.CommitToMetaAsync("tools");
        await HiveInstance.Until(() => f.Hive.Logs.Lines.Any(l => l.Text.Contains("pushing meta", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the failed push logged");

        Assert.Empty(elsewhere.GitAuthorizations); // not followed at all
        Assert.All(f.Forge.GitAuthorizations.Where(a => a.Length > 0), a => Assert.StartsWith("Basic ", a));
    }

    [Fact]
    public async Task Limits_that_would_overflow_a_timer_are_refused_at_start_up()
    {
        foreach (var (key, value) in new[] { ("SweepMinutes", "100000"), ("TimeoutSeconds", "1e9"), ("PushTimeoutSeconds", "0") })
        {
            var refusal = await Assert.ThrowsAnyAsync<Exception>(() =>
                HiveInstance.StartAsync(["alice"], "--Hive:Forge:Url", "http://127.0.0.1:3000", $"--Hive:Forge:{key}", value));
            Assert.Contains("Hive:Forge", refusal.Message);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int Mkfifo(string path, uint mode);

    [Fact]
    public async Task The_state_file_endpoint_refuses_a_token_file_whatever_the_configured_deny_names()
    {
        await using var f = await ForgeHive.StartAsync(["alice"], null, "--Hive:StateFiles:DenyNames:0", "notes.md");
        await f.StartUpSweepAsync();
        Assert.True(File.Exists(f.TokenFileOf("alice")));

        using var response = await f.Http.GetAsync("/api/state-file?path=" + Uri.EscapeDataString("/agents/alice/state/forge-token"));
        Assert.False(response.IsSuccessStatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(await File.ReadAllTextAsync(f.TokenFileOf("alice")), body);
    }

    [Fact]
    public async Task With_no_forge_configured_nothing_is_swept_and_a_sweep_request_says_why()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"]);
        var status = await hive.GetJsonAsync("/api/forge");
        Assert.False(status.GetProperty("enabled").GetBoolean());
        using var response = await hive.Http.PostAsync("/api/forge/sweep", null);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("Hive:Forge:Url", await response.Content.ReadAsStringAsync());
        Assert.False(File.Exists(Path.Combine(hive.DataDir, "forge-core-token")));
    }

    [Fact]
    public async Task A_forge_url_carrying_credentials_is_refused_at_start_up_without_repeating_them()
    {
        var refusal = await Assert.ThrowsAnyAsync<Exception>(() =>
            HiveInstance.StartAsync(["alice"], "--Hive:Forge:Url", "http://root:hunter2-secret@127.0.0.1:3000/"));
        Assert.Contains("without credentials", refusal.Message);
        Assert.DoesNotContain("hunter2-secret", refusal.ToString());
    }

    [Theory]
    [InlineData("bubblewrap")]
    [InlineData("process")]
    public async Task A_sandboxed_agent_reads_its_own_token_and_no_other(string driver)
    {
        await using var f = await ForgeHive.StartAsync(["alice"]);
        await f.StartUpSweepAsync();
        var alice = Path.Combine(f.Hive.DataDir, "agents", "alice", "state", "forge-token");
        // It waits for its own token (issued once it is in the directory), then reaches for alice's and the core's, by
        // both the paths it sees and the host's.
        var script = "exec > probes.txt 2>/dev/null\n"
            + "i=0; while [ ! -s \"$HIVE_STATE_DIR/forge-token\" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\n"
            + "cat \"$HIVE_STATE_DIR/forge-token\" > own-token.txt && echo own:ok\n"
            + Probe("other", "cat /agents/alice/state/forge-token") + Probe("other-host", $"cat '{alice}'")
            + Probe("core-host", $"cat '{f.CoreTokenFile}'")
            + (driver == "bubblewrap" ? Probe("core-any", "find / -xdev -name forge-core-token 2>/dev/null | grep -q .") : "") // slow on a whole host
            + "echo done\n";
        const string name = "carol";
        try
        {
            await CreateAsync(f.Http, Shell(name, driver, script));
            var results = Path.Combine(f.Hive.DataDir, "agents", name, "state", "probes.txt");
            await HiveInstance.Until(() => File.Exists(results) && File.ReadAllText(results).Contains("done"), TimeSpan.FromSeconds(60), "the probes");
            var lines = File.ReadAllLines(results).Where(l => l.Contains(':')).Select(l => l.Split(':', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
            Assert.Equal("ok", lines["own"]);
            Assert.Equal(await File.ReadAllTextAsync(f.TokenFileOf(name)),
                await File.ReadAllTextAsync(Path.Combine(f.Hive.DataDir, "agents", name, "state", "own-token.txt")));
            if (driver == "bubblewrap")
            {
                foreach (var probe in new[] { "other", "other-host", "core-host", "core-any" }) Assert.True(lines[probe] == "denied", $"{probe}: {lines[probe]}");
            }
            else if (Environment.IsPrivilegedProcess)
            {
                // A root host runs it as a user of its own with the data dir covered but for its own paths.
                foreach (var probe in new[] { "other-host", "core-host" }) Assert.True(lines[probe] == "denied", $"{probe}: {lines[probe]}");
            }
            else
            {
                // The process driver of a host that is not root isolates nothing (for agents you trust): the same probes reach.
                Assert.Equal("reached", lines["other-host"]);
                Assert.Equal("reached", lines["core-host"]);
            }
        }
        finally
        {
            await DestroyAsync(f.Hive, name);
        }
    }

    private static string Probe(string key, string command) => $"if {command} >/dev/null 2>&1; then echo '{key}:reached'; else echo '{key}:denied'; fi\n";
}
