namespace Hive.Tests.Cli;

/// <summary>
/// The harness's side: the session id COMMAND prints is kept on the hive and given back with
/// <c>--resume</c> (<c>hivectl run --claude</c>) after COMMAND crashes, after the harness (the agent) restarts and after
/// the host is SIGKILLed and started again; the operator's <c>/clear</c> starts afresh and <c>/model</c> passes
/// <c>--model</c>, each an intervention; a "Prompt is too long" result compacts and retries once; a context above
/// <c>--compact-at</c> compacts before the next turn. The fake COMMAND logs each run's argv and <c>$HIVE_COMPACT</c>.
/// </summary>
public sealed class ResumeHarnessTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-resume-").FullName;

    /// <summary>
    /// A crashed turn's message comes back after the ack timeout: short enough to wait for, long enough that a slow turn
    /// on a loaded machine is never handed its own message again while it runs (which would shift the runs counted).
    /// </summary>
    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Messages:AckTimeoutSeconds", "4");

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await TestDirectories.DeleteAsync(_dir);
    }

    private string Runs => Path.Combine(_dir, "runs");

    /// <summary>
    /// A fake Claude Code: run N logs "N|$HIVE_COMPACT|argv" to <see cref="Runs"/>, reads stdin, then does what
    /// <paramref name="body"/> says for it (shell, with $n the run's number); <c>init S</c> prints the init line of session S.
    /// </summary>
    private string Script(string body)
    {
        var file = Path.Combine(_dir, $"command-{Guid.NewGuid():N}.sh");
        File.WriteAllText(file, $$$"""
            n=$(( $(cat '{{{_dir}}}/count' 2>/dev/null || echo 0) + 1 )); echo $n > '{{{_dir}}}/count'
            echo "$n|$HIVE_COMPACT|$*" >> '{{{Runs}}}'
            cat > /dev/null
            init() { echo '{"type":"system","subtype":"init","session_id":"'"$1"'","model":"fake-1"}'; }
            ok() { echo '{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"'"$1"'","usage":{"input_tokens":10,"output_tokens":2}}'; }
            {{{body}}}
            """.Replace("\r", ""));
        return file;
    }

    private RunningHivectl Harness(string script, string socket, params string[] options) =>
        Hivectl.Start(["run", "--socket", socket, "--claude", .. options, "--", "/bin/sh", script, "-p", "wake up"]);

    private string[] RunLines => File.Exists(Runs) ? File.ReadAllLines(Runs) : [];

    /// <summary>Run <paramref name="n"/>'s logged line (1-based), once it is there.</summary>
    private async Task<string> RunAsync(int n, RunningHivectl harness)
    {
        await Until(harness, () => RunLines.Length >= n, $"run {n} of COMMAND");
        return RunLines[n - 1];
    }

    private static async Task Until(RunningHivectl harness, Func<bool> condition, string what, double seconds = 30)
    {
        try
        {
            await HiveInstance.Until(condition, TimeSpan.FromSeconds(seconds), what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nthe harness's stderr:\n{harness.Stderr}");
        }
    }

    private async Task<long> SendToAliceAsync(string body)
    {
        await using var bob = await _hive.ConnectAsync("bob");
        return await bob.SendAsync("alice", body);
    }

    private bool Acknowledged(long id) => _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @id AND delivered_at IS NOT NULL", new { id }) == 1;

    private string? SessionOnHive() => _hive.QueryDbList<string?>("SELECT session_id FROM conversations WHERE agent = 'alice'").SingleOrDefault();

    private static async Task StopAsync(RunningHivectl harness)
    {
        ProcessTable.Kill(harness.Pid, signal: 15);
        await harness.WaitForExitAsync(TimeSpan.FromSeconds(40));
    }

    [Fact]
    public async Task After_command_crashes_the_next_turn_resumes_its_session()
    {
        var id = await SendToAliceAsync("hello");
        await using var harness = Harness(Script("""
            init sess-1
            if [ $n = 1 ]; then exit 1; fi
            ok sess-1
            """), _hive.SocketPath("alice"));

        Assert.DoesNotContain("--resume", await RunAsync(1, harness)); // a first turn: nothing to resume
        Assert.EndsWith("-p wake up --resume sess-1", await RunAsync(2, harness)); // the message came back after the crash
        await Until(harness, () => Acknowledged(id), "the message acknowledged");
        Assert.Equal("sess-1", SessionOnHive());
    }

    /// <summary>A session Claude Code no longer has (it fails on --resume before naming one) is not resumed forever.</summary>
    [Fact]
    public async Task A_session_command_cannot_resume_is_forgotten_and_the_next_turn_starts_afresh()
    {
        var first = await SendToAliceAsync("one");
        await using var harness = Harness(Script("""
            case "$*" in *"--resume sess-1"*) echo 'No conversation found with session ID: sess-1' >&2; exit 1;; esac
            init sess-$n; ok sess-$n
            """), _hive.SocketPath("alice"));
        await Until(harness, () => Acknowledged(first), "the first message acknowledged");
        var second = await SendToAliceAsync("two");
        Assert.EndsWith("--resume sess-1", await RunAsync(2, harness));
        Assert.DoesNotContain("--resume", await RunAsync(3, harness)); // the message came back, to a fresh conversation
        await Until(harness, () => Acknowledged(second), "the second message acknowledged");
        Assert.Equal("sess-3", SessionOnHive());
    }

    [Fact]
    public async Task After_the_agent_restarts_the_next_turn_resumes_its_session()
    {
        var script = Script("init sess-$n; ok sess-$n");
        var first = await SendToAliceAsync("one");
        await using (var harness = Harness(script, _hive.SocketPath("alice")))
        {
            await Until(harness, () => Acknowledged(first), "the first message acknowledged");
            await StopAsync(harness);
        }
        var second = await SendToAliceAsync("two");
        await using var again = Harness(script, _hive.SocketPath("alice"));
        Assert.EndsWith("--resume sess-1", await RunAsync(2, again));
        await Until(again, () => Acknowledged(second), "the second message acknowledged");
        Assert.Equal("sess-2", SessionOnHive()); // what the program names last is what the next turn resumes
    }

    [Fact]
    public async Task After_the_host_is_killed_and_started_again_the_next_turn_resumes_its_session()
    {
        var dataDir = Directory.CreateTempSubdirectory("hive-resume-host-").FullName;
        var port = HostProcess.FreePort();
        var script = Script("init sess-$n; ok sess-$n");
        try
        {
            await using (var host = await HostProcess.StartAsync(dataDir, ["alice", "bob"], port: port))
            {
                await using (var bob = await host.ConnectAsync("bob")) await bob.SendAsync("alice", "one");
                await using var harness = Harness(script, Path.Combine(dataDir, "run", "alice.sock"));
                await Until(harness, () => HiveInstance.QueryDb<long>(dataDir, "SELECT count(*) FROM conversations WHERE agent = 'alice' AND session_id = 'sess-1'") == 1,
                    "the session kept on the host");
                await host.KillAsync(); // SIGKILL: nothing of the host's shutdown runs
                await StopAsync(harness);
            }
            await using var restarted = await HostProcess.StartAsync(dataDir, ["alice", "bob"], port: port);
            await using (var bob = await restarted.ConnectAsync("bob")) await bob.SendAsync("alice", "two");
            await using var again = Harness(script, Path.Combine(dataDir, "run", "alice.sock"));
            Assert.EndsWith("--resume sess-1", await RunAsync(2, again));
        }
        finally
        {
            await TestDirectories.DeleteAsync(dataDir);
        }
    }

    [Fact]
    public async Task Clear_from_the_page_starts_afresh_model_switches_the_model_compact_compacts_each_an_intervention()
    {
        var script = Script("init sess-$n; ok sess-$n");
        await using var harness = Harness(script, _hive.SocketPath("alice"));
        var first = await SendToAliceAsync("one");
        await Until(harness, () => Acknowledged(first), "the first message acknowledged");

        foreach (var command in new[] { "/clear", "/model claude-opus-4-1" })
            using (var response = await _hive.Http.PostAsJsonAsync("/api/agents/alice/slash", new { command }))
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (var bad = await _hive.Http.PostAsJsonAsync("/api/agents/alice/slash", new { command = "/model <b>" }))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var conversation = await _hive.GetJsonAsync("/api/agents/alice/conversation");
        Assert.True(conversation.GetProperty("clear_next").GetBoolean());
        Assert.Equal("claude-opus-4-1", conversation.GetProperty("model").GetString());

        await SendToAliceAsync("two");
        var second = await RunAsync(2, harness);
        Assert.DoesNotContain("--resume", second); // /clear: a fresh conversation
        Assert.EndsWith("--model claude-opus-4-1", second);

        await SendToAliceAsync("three");
        Assert.EndsWith("--resume sess-2 --model claude-opus-4-1", await RunAsync(3, harness)); // the fresh one goes on

        // /compact: a compaction pass on the session, then the turn.
        using (var response = await _hive.Http.PostAsJsonAsync("/api/agents/alice/slash", new { command = "/compact" }))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await SendToAliceAsync("four");
        Assert.Matches(@"^4\|1\|.* --resume sess-3 --model claude-opus-4-1$", await RunAsync(4, harness));
        Assert.StartsWith("5||", await RunAsync(5, harness));

        var actions = (await _hive.GetJsonAsync("/api/interventions")).EnumerateArray()
            .Where(i => i.GetProperty("target").GetString() == "alice").Select(i => i.GetProperty("action").GetString()).ToList();
        Assert.Contains("slash_clear", actions);
        Assert.Contains("slash_model", actions);
        Assert.Contains("slash_compact", actions);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_prompt_too_long_result_compacts_and_retries_once(bool retryFits)
    {
        var id = await SendToAliceAsync("hello");
        await using var harness = Harness(Script($$"""
            init sess-1
            if [ $n = 2 ] || [ $n = 3 -a {{(retryFits ? "1" : "0")}} = 1 ]; then ok sess-1; exit 0; fi
            echo '{"type":"result","subtype":"success","is_error":true,"result":"Prompt is too long","session_id":"sess-1"}'
            """), _hive.SocketPath("alice"));

        var turn = await NextTurnAsync(harness);
        var runs = RunLines;
        Assert.Equal(3, runs.Length); // the turn, a compaction, the turn once more: never a second retry
        Assert.StartsWith("1||", runs[0]);
        Assert.StartsWith("2|1|", runs[1]);
        Assert.Matches(@"-p /compact Checkpoint .* --resume sess-1$", runs[1]); // Claude Code's /compact, on the session
        Assert.EndsWith("-p wake up --resume sess-1", runs[2]);
        Assert.Equal(retryFits ? "ok" : "prompt_too_long", turn.GetProperty("result_kind").GetString());
        if (retryFits)
        {
            Assert.Equal("prompt too long: compacted and retried once", turn.GetProperty("note").GetString());
            await Until(harness, () => Acknowledged(id), "the message acknowledged");
        }
    }

    [Fact]
    public async Task A_turn_ending_above_compact_at_compacts_before_the_next_turn()
    {
        await using var harness = Harness(Script("""
            init sess-1
            echo '{"type":"assistant","message":{"model":"fake-1","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":5,"cache_read_input_tokens":4000,"output_tokens":100}}}'
            ok sess-1
            """), _hive.SocketPath("alice"), "--compact-at", "1000");
        await SendToAliceAsync("one");
        await RunAsync(1, harness);
        await Until(harness, () => _hive.QueryDb<long>("SELECT count(*) FROM conversations WHERE agent = 'alice' AND compact_next = 1") == 1, "a compaction asked of the next turn");

        await SendToAliceAsync("two");
        Assert.StartsWith("2|1|", await RunAsync(2, harness)); // the compaction first
        Assert.StartsWith("3||", await RunAsync(3, harness));  // then the turn
    }

    private async Task<JsonElement> NextTurnAsync(RunningHivectl harness)
    {
        await Until(harness, () => _hive.QueryDb<long>("SELECT count(*) FROM turns WHERE agent = 'alice'") > 0, "a turn recorded");
        return (await _hive.GetJsonAsync("/api/agents/alice/turns")).EnumerateArray().First();
    }
}
