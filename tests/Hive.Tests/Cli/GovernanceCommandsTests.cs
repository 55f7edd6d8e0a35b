namespace Hive.Tests.Cli;

/// <summary>
/// The hivectl half: <c>halt</c>, <c>resume</c>, <c>pause</c>, <c>budget</c>, <c>turns</c>,
/// <c>quota-clear</c> (operator, HTTP) and <c>quota-hit</c> (agent, socket) through the built hivectl against a real hive:
/// each does what it says and prints it, <c>--json</c> the governance document or entry. The tests of this class share a
/// hive and run one after another; each leaves the hive running and unpaused.
/// </summary>
public sealed class GovernanceCommandsTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private async Task<JsonElement> GovernanceAsync() => await _hive.GetJsonAsync("/api/governance");

    [Fact]
    public async Task Halt_and_resume_stop_and_restart_the_hive_and_say_so()
    {
        var halted = (await fixture.OperatorAsync("halt", "--reason", "maintenance", "--json")).Ok().Json;
        Assert.Equal("maintenance", halted.GetProperty("halted").GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Object, (await GovernanceAsync()).GetProperty("halted").ValueKind);

        var again = (await fixture.OperatorAsync("halt")).Ok().Stdout; // halting a halted hive changes nothing
        Assert.Contains("halted", again);
        Assert.Contains("maintenance", again);
        Assert.Contains("halted", (await fixture.OperatorAsync("turns")).Ok().Stdout);

        Assert.Contains("running", (await fixture.OperatorAsync("resume")).Ok().Stdout);
        Assert.Equal(JsonValueKind.Null, (await GovernanceAsync()).GetProperty("halted").ValueKind);
    }

    [Fact]
    public async Task Pause_and_resume_an_agent_and_an_unknown_one_is_not_found()
    {
        var paused = (await fixture.OperatorAsync("pause", "bob", "--json")).Ok().Json;
        Assert.Contains(paused.GetProperty("paused").EnumerateArray(), p => p.GetProperty("agent").GetString() == "bob");
        Assert.Contains("bob", (await fixture.OperatorAsync("turns")).Ok().Stdout.Split('\n').Single(l => l.StartsWith("paused:", StringComparison.Ordinal)));

        Assert.Equal("bob resumed", (await fixture.OperatorAsync("resume", "bob")).Ok().Stdout.Trim());
        Assert.DoesNotContain((await GovernanceAsync()).GetProperty("paused").EnumerateArray(), p => p.GetProperty("agent").GetString() == "bob");

        (await fixture.OperatorAsync("pause", "nobody", "--json")).Refused("not_found");
        (await fixture.OperatorAsync("resume", "nobody")).Refused("not_found");
    }

    [Fact]
    public async Task Budget_changes_only_the_caps_given_and_none_clears_one()
    {
        var set = (await fixture.OperatorAsync("budget", "alice", "--daily-usd", "1.5", "--monthly-tokens", "2000000", "--json")).Ok().Json;
        Assert.Equal(1.5, set.GetProperty("daily_usd").GetDouble());
        Assert.Equal(2_000_000, set.GetProperty("monthly_tokens").GetInt64());

        // A second change keeps what it does not name.
        (await fixture.OperatorAsync("budget", "alice", "--monthly-usd", "20")).Ok();
        var alice = (await fixture.OperatorAsync("budget", "alice", "--json")).Ok().Json;
        Assert.Equal("alice", alice.GetProperty("scope").GetString());
        Assert.Equal(1.5, alice.GetProperty("daily_usd").GetDouble());
        Assert.Equal(20, alice.GetProperty("monthly_usd").GetDouble());
        Assert.Equal(2_000_000, alice.GetProperty("monthly_tokens").GetInt64());
        Assert.Equal(JsonValueKind.Null, alice.GetProperty("daily_tokens").ValueKind);

        (await fixture.OperatorAsync("budget", "alice", "--daily-usd", "none")).Ok();
        var cleared = (await GovernanceAsync()).GetProperty("budgets").EnumerateArray().Single(b => b.GetProperty("scope").GetString() == "alice");
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("daily_usd").ValueKind);
        Assert.Equal(20, cleared.GetProperty("monthly_usd").GetDouble());

        // Every budget, the hive's first, as a table of spent against cap.
        var table = (await fixture.OperatorAsync("budget")).Ok().Stdout.Split('\n');
        Assert.StartsWith("SCOPE", table[0]);
        Assert.StartsWith("*", table[1]);
        Assert.Matches(@"^alice\s+0\.00 / -\s+0\.00 / 20\.00\s+0 / -\s+0 / 2,000,000", table.Single(l => l.StartsWith("alice", StringComparison.Ordinal)));

        // An agent with no budget listed: no caps, nothing spent; no such agent: not found.
        var bob = (await fixture.OperatorAsync("budget", "bob", "--json")).Ok().Json;
        Assert.Equal(JsonValueKind.Null, bob.GetProperty("daily_usd").ValueKind);
        Assert.Equal(0, bob.GetProperty("spent").GetProperty("month_usd").GetDouble());
        (await fixture.OperatorAsync("budget", "nobody")).Refused("not_found");

        (await fixture.OperatorAsync("budget", "alice", "--daily-usd", "lots")).Usage();
        (await fixture.OperatorAsync("budget", "--daily-usd", "1")).Usage();
        (await fixture.OperatorAsync("budget", "alice", "--daily-usd", "-1")).Refused("validation");
        (await fixture.OperatorAsync("budget", "nobody", "--daily-usd", "1")).Refused("not_found");
        (await fixture.OperatorAsync("budget", "alice", "--monthly-usd", "none", "--monthly-tokens", "none")).Ok();
    }

    [Fact]
    public async Task Quota_hit_opens_a_circuit_turns_shows_it_and_quota_clear_ends_it()
    {
        var until = DateTimeOffset.UtcNow.AddHours(2);
        var iso = until.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        // An agent reports its own provider's limit only: one whose turns count against testprov.
        foreach (var name in new[] { "prov-agent", "prov-agent2" })
            using (var created = await fixture.Hive.Http.PostAsJsonAsync("/api/agents", new { name, driver = "external", provider = "testprov" }))
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        (await fixture.AgentAsync("alice", "quota-hit", "--provider", "testprov", "--until", iso)).Refused("forbidden");
        var hit = (await fixture.AgentAsync("prov-agent", "quota-hit", "--provider", "testprov", "--until", iso, "--json")).Ok().Json;
        // One agent's report holds only itself; a second agent on the provider confirms it, and the circuit opens.
        (await fixture.AgentAsync("prov-agent2", "quota-hit", "--provider", "testprov", "--until", iso)).Ok();
        Assert.Equal("testprov", hit.GetProperty("provider").GetString());
        Assert.Equal(iso, hit.GetProperty("until").GetDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));

        var turns = (await fixture.OperatorAsync("turns")).Ok().Stdout;
        Assert.Contains("slots:", turns);
        Assert.Matches(@"(?m)^testprov\s+\S+\s+\S+\s+prov-agent2?\s*$", turns[turns.IndexOf("circuits:", StringComparison.Ordinal)..]);
        var json = (await fixture.OperatorAsync("turns", "--json")).Ok().Json;
        Assert.Contains(json.GetProperty("circuits").EnumerateArray(), c => c.GetProperty("provider").GetString() == "testprov");

        Assert.Contains("testprov", (await fixture.OperatorAsync("quota-clear", "testprov")).Ok().Stdout);
        Assert.DoesNotContain((await GovernanceAsync()).GetProperty("circuits").EnumerateArray(), c => c.GetProperty("provider").GetString() == "testprov");
        (await fixture.OperatorAsync("quota-clear", "testprov")).Refused("not_found");

        (await fixture.AgentAsync("alice", "quota-hit", "--until", "soon")).Usage();
    }

    [Fact]
    public async Task Turns_lists_the_running_turns_with_their_age_then_the_queue()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var granted = await alice.CallAsync(new { op = "begin_turn" });
        var turnId = granted.GetProperty("turn_id").GetInt64();

        var text = (await fixture.OperatorAsync("turns")).Ok().Stdout;
        var running = text[text.IndexOf("running:", StringComparison.Ordinal)..text.IndexOf("queue:", StringComparison.Ordinal)];
        Assert.Matches($@"(?m)^{turnId}\s+alice\s+anthropic\s+\d+\.\ds\s+running\s*$", running);
        Assert.Contains("slots: 1 of", text);

        // turns end ID: ended at once, as the operator's intervention; a second end is refused.
        Assert.Equal($"turn {turnId} ended", (await fixture.OperatorAsync("turns", "end", turnId.ToString(System.Globalization.CultureInfo.InvariantCulture), "--reason", "wrong task")).Ok().Stdout.Trim());
        Assert.Equal("ended", AgentClient.Ok(await alice.CallAsync(new { op = "watch_turn", turn_id = turnId, wait_ms = 5000 })).GetProperty("state").GetString());
        Assert.Equal("wrong task", _hive.QueryDb<string>("SELECT reason FROM interventions WHERE action = 'end_turn' ORDER BY id DESC LIMIT 1"));
        (await fixture.OperatorAsync("turns", "end", turnId.ToString(System.Globalization.CultureInfo.InvariantCulture))).Refused("conflict");
        (await fixture.OperatorAsync("turns", "end", "first")).Usage();
    }
}
