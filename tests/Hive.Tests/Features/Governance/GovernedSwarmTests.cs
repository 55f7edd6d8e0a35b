using Hive.Contracts.Governance;
using Hive.Features.Governance;
using Hive.Tests.Cli;

namespace Hive.Tests.Features.Governance;

/// <summary>
/// Governance through the real harness: agents run by <c>hivectl run</c> with a fake COMMAND (a shell script)
/// that writes its own start and end stamps, reads its messages and obeys them (<c>sleep S</c>, <c>cost C</c>,
/// <c>limit EPOCH</c>: an error result naming a usage limit, <c>waitfile PATH</c>), and prints Claude-Code-style stream-json.
/// One hive per test (a halt, a circuit and the slots are hive-wide), two slots, a two-second stop grace.
/// </summary>
public sealed class GovernedSwarmTests : IAsyncLifetime
{
    private const string FakeCommand = """
        #!/bin/sh
        # $1 the stamps file, $2 the agent's name. Directives come as message bodies.
        stamps="$1"; me="$2"; cost=0.01; limit=""; pause=0; waitfile=""
        echo "start $(date +%s%N) $me $$" >> "$stamps"
        while IFS= read -r line; do
          printf '%s\n' "$line" >> "$stamps.$me.seen"
          body=$(printf '%s' "$line" | sed -n 's/.*"body":"\([^"]*\)".*/\1/p')
          case "$body" in
            sleep\ *) pause=${body#sleep } ;;
            cost\ *) cost=${body#cost } ;;
            limit\ *) limit=$(( $(date +%s) + ${body#limit } )) ;;
            waitfile\ *) waitfile=${body#waitfile } ;;
          esac
        done
        if [ -n "$waitfile" ]; then n=0; while [ ! -e "$waitfile" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done; fi
        sleep "$pause"
        echo "end $(date +%s%N) $me $$" >> "$stamps"
        if [ -n "$limit" ]; then
          echo '{"type":"result","subtype":"success","is_error":true,"result":"Claude AI usage limit reached|'"$limit"'"}'
          exit 1
        fi
        echo '{"type":"assistant","message":{"model":"fake-1","content":[{"type":"text","text":"ok"}]}}'
        echo '{"type":"result","subtype":"success","is_error":false,"total_cost_usd":'"$cost"',"usage":{"input_tokens":100,"output_tokens":20}}'
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("hive-governed-").FullName;
    private readonly List<RunningHivectl> _harnesses = [];
    private HiveInstance _hive = null!;

    private Task<GovernanceView> GovernanceAsync() => _hive.GetAsync<GovernanceView>("/api/governance");
    private string Stamps => Path.Combine(_dir, "stamps");
    private string Script => Path.Combine(_dir, "fake-command.sh");

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Script, FakeCommand.Replace("\r", ""));
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_111_111); // a root host's agents run as users of their own
        _hive = await HiveInstance.StartAsync(["peer"],
            "--Hive:Governance:MaxConcurrentTurns", "2", "--Hive:Containers:StopGraceSeconds", "2", "--Hive:Messages:AckTimeoutSeconds", "2");
    }

    public async Task DisposeAsync()
    {
        foreach (var harness in _harnesses) await harness.DisposeAsync();
        await _hive.DisposeAsync();
        await TestDirectories.DeleteAsync(_dir);
    }

    /// <summary>An external agent named exactly <paramref name="name"/> (on <paramref name="provider"/>), run by a harness of its own.</summary>
    private async Task StartAsync(string name, string? provider = null)
    {
        using (var created = await _hive.Http.PostAsJsonAsync("/api/agents", new { name, driver = "external", provider }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        _harnesses.Add(Hivectl.Start(["run", "--socket", _hive.SocketPath(name), "--", "/bin/sh", Script, Stamps, name]));
    }

    private sealed record Stamp(string Kind, long Nanos, string Agent, int Pid);

    private List<Stamp> Stamps_() => !File.Exists(Stamps) ? [] : File.ReadAllLines(Stamps).Select(l => l.Split(' '))
        .Select(f => new Stamp(f[0], long.Parse(f[1]), f[2], int.Parse(f[3]))).ToList();

    private Task UntilStampsAsync(Func<List<Stamp>, bool> condition, string what, int seconds = 30) =>
        HiveInstance.Until(() => condition(Stamps_()), TimeSpan.FromSeconds(seconds), what);

    private async Task SendAsync(string to, string body)
    {
        await using var peer = await _hive.ConnectAsync("peer");
        await peer.SendAsync(to, body);
    }

    [Fact]
    public async Task Six_agents_woken_at_once_never_run_more_than_two_commands_at_a_time()
    {
        var names = Enumerable.Range(1, 6).Select(i => $"w{i}").ToArray();
        foreach (var name in names) await StartAsync(name);
        foreach (var name in names) await SendAsync(name, "sleep 0.3");

        await UntilStampsAsync(s => s.Count(x => x.Kind == "end") == 6, "six turns run", 60);
        var peak = 0;
        var running = 0;
        foreach (var edge in Stamps_().OrderBy(s => s.Nanos).ThenBy(s => s.Kind == "start" ? 1 : 0))
            peak = Math.Max(peak, running += edge.Kind == "start" ? 1 : -1);
        Assert.InRange(peak, 1, 2);
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM governed_turns WHERE end_reason = 'recorded'") == 6,
            what: "six turns recorded with their turn_id");
    }

    [Fact]
    public async Task A_budget_stops_the_agent_after_the_turn_that_crosses_it_asks_once_and_raise_lets_it_go_on()
    {
        await StartAsync("spender");
        using (var set = await _hive.Http.PutAsJsonAsync("/api/governance/budgets/spender", new { daily_usd = 0.05 })) set.EnsureSuccessStatusCode();
        await using var events = await _hive.OpenEventsAsync();

        await SendAsync("spender", "cost 0.06");
        await events.WaitForPayloadAsync<BudgetReachedPayload>("budget_exceeded", e => e.Scope == "spender");
        await SendAsync("spender", "cost 0.01");
        await events.WaitForPayloadAsync<TurnHeldPayload>("turn_held", e => e.Agent == "spender" && e.Reason == "budget");
        Assert.Single(Stamps_(), s => s.Kind == "start");
        var questions = _hive.QueryDbList<(long Id, string Options)>("SELECT id, options FROM questions WHERE asker = 'hive'");
        var (id, options) = Assert.Single(questions);
        var raise = JsonSerializer.Deserialize<string[]>(options)!.First(o => o.StartsWith("raise", StringComparison.Ordinal));

        using (var answer = await _hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = raise })) answer.EnsureSuccessStatusCode();
        await UntilStampsAsync(s => s.Count(x => x.Kind == "end") == 2, "the next turn after the raise");
        Assert.Single(_hive.QueryDbList<long>("SELECT id FROM questions WHERE asker = 'hive'"));
    }

    [Fact]
    public async Task A_usage_limit_holds_the_agent_that_hit_it_until_the_reset_and_no_others()
    {
        await StartAsync("u1");
        await StartAsync("u2");
        await StartAsync("x1", provider: "acme");
        await using var events = await _hive.OpenEventsAsync();

        // One agent's word holds only itself: its provider's circuit opens only on the provider's own word or a second agent's.
        // The reset is 5 s after the turn says it (a reset named for a fixed time could be past when a loaded machine gets there).
        await SendAsync("u1", "limit 5");
        var held = await events.WaitForPayloadAsync<AgentQuotaHeldPayload>("agent_quota_held", e => e.Agent == "u1");
        Assert.Equal("anthropic", held.Provider);
        var reset = held.Until!.Value;
        await SendAsync("u2", "sleep 0");
        await SendAsync("x1", "sleep 0");
        await UntilStampsAsync(s => s.Any(x => x.Agent == "u2" && x.Kind == "end"), "the other agent on the same provider runs");
        await UntilStampsAsync(s => s.Any(x => x.Agent == "x1" && x.Kind == "end"), "the agent on another provider runs");
        Assert.Empty((await GovernanceAsync()).Circuits);

        try
        {
            await UntilStampsAsync(s => s.Count(x => x.Agent == "u1" && x.Kind == "start") >= 2, "u1 runs again after the reset");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; u1's harness said:\n{_harnesses[0].Stderr}\n{_harnesses[0].Stdout}", e);
        }
        var again = Stamps_().Where(x => x.Agent == "u1" && x.Kind == "start").Skip(1).First().Nanos;
        Assert.True(again >= reset.ToUnixTimeMilliseconds() * 1_000_000 - 1_000_000_000, "u1 ran again before the reset"); // the epoch has whole seconds
    }

    [Fact]
    public async Task An_operator_message_wakes_its_agent_before_an_older_agent_to_agent_wake()
    {
        foreach (var name in new[] { "b1", "b2", "older", "boss" }) await StartAsync(name);
        var release = Path.Combine(_dir, "release-b1");
        await SendAsync("b1", $"waitfile {release}");
        await SendAsync("b2", $"waitfile {release}-never");
        await UntilStampsAsync(s => s.Count(x => x.Kind == "start") == 2, "both slots taken");

        await SendAsync("older", "sleep 0");
        await HiveInstance.Until(() => Queue().Contains("older"), what: "the peer-woken agent in line");
        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "boss", body = "sleep 0" })) sent.EnsureSuccessStatusCode();
        await HiveInstance.Until(() => Queue().Contains("boss"), what: "the operator-woken agent in line");

        File.WriteAllText(release, "");
        await UntilStampsAsync(s => s.Any(x => x.Agent == "boss" && x.Kind == "start"), "boss runs");
        var starts = Stamps_().Where(x => x.Kind == "start").Select(x => x.Agent).ToList();
        Assert.True(!starts.Contains("older") || starts.IndexOf("boss") < starts.IndexOf("older"), string.Join(", ", starts));
        File.WriteAllText(release + "-never", "");

        List<string> Queue() => GovernanceAsync().GetAwaiter().GetResult().Queue.Select(w => w.Agent).ToList();
    }

    [Fact]
    public async Task A_halt_ends_every_running_command_within_the_grace_starts_none_and_resume_delivers_what_waited()
    {
        foreach (var name in new[] { "h1", "h2", "h3" }) await StartAsync(name);
        await SendAsync("h1", $"waitfile {_dir}/never");
        await SendAsync("h2", $"waitfile {_dir}/never");
        await UntilStampsAsync(s => s.Count(x => x.Kind == "start") == 2, "two turns running");
        var pids = Stamps_().Select(s => s.Pid).ToList();

        using (var halt = await _hive.Http.PostAsync("/api/governance/halt", null)) halt.EnsureSuccessStatusCode();
        // Ended by the halt (SIGKILL once the 2 s grace is out); how soon is not asserted: a loaded machine makes any bound a flake.
        await HiveInstance.Until(() => pids.All(p => !ProcessTable.IsAlive(p)), TimeSpan.FromSeconds(30), "both COMMANDs ended");

        await SendAsync("h3", "sleep 0");
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM governed_turns WHERE ended_at IS NULL") == 0, what: "the halted turns ended");
        var kept = _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'h3' AND delivered_at IS NULL");
        Assert.Equal(1, kept);
        Assert.Equal(2, Stamps_().Count(s => s.Kind == "start")); // none started while halted

        File.WriteAllText($"{_dir}/never", ""); // the halted messages' second runs end at once
        using (var resume = await _hive.Http.PostAsync("/api/governance/resume", null)) resume.EnsureSuccessStatusCode();
        await UntilStampsAsync(s => s.Any(x => x.Agent == "h3" && x.Kind == "end"), "h3's message delivered after the resume");
        await UntilStampsAsync(s => s.Count(x => x.Agent == "h1" && x.Kind == "start") == 2, "h1's message handed out again");
        var again = File.ReadAllLines($"{Stamps}.h1.seen").Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(again[^1].GetProperty("redelivered").GetBoolean()); // the wire's flag, raw: the record computes it
    }

    [Fact]
    public async Task An_agent_killed_mid_turn_frees_its_slot()
    {
        await StartAsync("k1");
        await StartAsync("k2");
        await StartAsync("k3");
        await SendAsync("k1", $"waitfile {_dir}/never");
        await SendAsync("k2", $"waitfile {_dir}/never");
        await UntilStampsAsync(s => s.Count(x => x.Kind == "start") == 2, "both slots taken");
        await SendAsync("k3", "sleep 0");
        await HiveInstance.Until(() => GovernanceAsync().GetAwaiter().GetResult().Queue.Count == 1,
            what: "k3 waiting");

        var k1 = _harnesses[0];
        _harnesses.Remove(k1);
        await k1.DisposeAsync(); // k1's harness and its COMMAND, killed
        await UntilStampsAsync(s => s.Any(x => x.Agent == "k3" && x.Kind == "end"), "k3 runs in the freed slot");
        Assert.Equal("disconnected", _hive.QueryDb<string>("SELECT end_reason FROM governed_turns WHERE agent = 'k1'"));
        File.WriteAllText($"{_dir}/never", "");
    }
}
