using Hive.Contracts.TurnStats;

namespace Hive.Tests.Cli.Acp;

/// <summary>
/// <c>hivectl run --acp</c>, the harness as an ACP client, driving <see cref="FakeAcpAgent"/> over its stdio: a wake's
/// messages reach the agent as a prompt in one session kept between wakes (and loaded back after the harness restarts),
/// its updates become the transcript and the turn's figures (its permission requests: <see cref="AcpPermissionTests"/>). An agent that never answers initialize, writes broken JSON-RPC, floods updates or
/// asks for a file outside its work dir ends its turn with the reason on the row, unacknowledged, and the harness goes on.
/// </summary>
public sealed class AcpHarnessTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-acp-").FullName;
    private string Log => Path.Combine(_dir, "agent.log");

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Messages:AckTimeoutSeconds", "600");

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await TestDirectories.DeleteAsync(_dir);
    }

    private RunningHivectl Harness(string mode, params string[] options) =>
        Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--acp", .. options, "--", "python3", FakeAcpAgent.WriteTo(_dir), mode],
            env: new Dictionary<string, string> { ["FAKE_ACP_LOG"] = Log }, workingDirectory: _dir);

    private async Task<long> SendToAliceAsync(string body)
    {
        await using var bob = await _hive.ConnectAsync("bob");
        return await bob.SendAsync("alice", body);
    }

    /// <summary>What the agent got, in order: each a JSON-RPC message.</summary>
    private List<JsonElement> Received() => File.Exists(Log)
        ? File.ReadAllLines(Log).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList()
        : [];

    private List<JsonElement> ReceivedOf(string method) => Received().Where(m => m.TryGetProperty("method", out var x) && x.GetString() == method).ToList();

    private async Task<TurnView[]> TurnsAsync(RunningHivectl harness, int count)
    {
        TurnView[] turns = [];
        await UntilAsync(harness, () => (turns = _hive.GetAsync<TurnView[]>("/api/agents/alice/turns").GetAwaiter().GetResult()).Length >= count, $"{count} turn(s) recorded");
        return turns;
    }

    private long Undelivered => _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'alice' AND delivered_at IS NULL");

    [Fact]
    public async Task A_wake_is_a_prompt_in_one_session_kept_between_wakes_and_loaded_after_a_restart()
    {
        var first = await SendToAliceAsync("hello over acp");
        long second;
        string session;
        await using (var harness = Harness("good"))
        {
            var turn = (await TurnsAsync(harness, 1))[0];
            Assert.Equal(("ok", "fake-acp-1", 5L, 3L, 7L, 0.25), (turn.ResultKind, turn.Model, turn.InputTokens, turn.OutputTokens, turn.CacheReadTokens, turn.CostUsd));
            Assert.Equal(1, turn.Tools["Read"]);
            Assert.Equal(0, Undelivered);
            var prompt = ReceivedOf("session/prompt").Single().GetProperty("params");
            session = prompt.GetProperty("sessionId").GetString()!;
            var text = prompt.GetProperty("prompt")[0].GetProperty("text").GetString()!;
            Assert.Contains("1 new message(s) from bob", text);
            Assert.Contains($"\"id\":{first}", text);
            Assert.Contains("hello over acp", text);
            // The session was opened with the hive's tools as an MCP server on this agent's socket.
            var opened = ReceivedOf("session/new").Single().GetProperty("params");
            var server = opened.GetProperty("mcpServers")[0];
            Assert.Equal("hive", server.GetProperty("name").GetString());
            Assert.Contains("mcp", server.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
            Assert.Equal(_hive.SocketPath("alice"), server.GetProperty("env")[0].GetProperty("value").GetString());
            Assert.True(ReceivedOf("initialize").Single().GetProperty("params").GetProperty("clientCapabilities").GetProperty("fs").GetProperty("readTextFile").GetBoolean());

            var entries = await _hive.GetAsync<TranscriptEntryView[]>($"/api/agents/alice/transcript?turn={turn.Id}");
            Assert.Contains(entries, e => e.Kind == "text" && e.Text.StartsWith("echo: You have 1 new message(s) from bob", StringComparison.Ordinal));
            Assert.Contains(entries, e => e.Kind == "tool_use" && e.Tool == "Read" && e.Text.Contains("notes.txt", StringComparison.Ordinal));
            Assert.Contains(entries, e => e.Kind == "tool_result" && e.Text == "the notes");

            // The next wake is a prompt in the same session: no second session/new, the agent process the same.
            second = await SendToAliceAsync("and again");
            await TurnsAsync(harness, 2);
            Assert.Single(ReceivedOf("session/new"));
            Assert.Single(ReceivedOf("initialize"));
            Assert.Equal([session, session], ReceivedOf("session/prompt").Select(p => p.GetProperty("params").GetProperty("sessionId").GetString()));
            ProcessTable.Kill(harness.Pid, signal: 15);
            Assert.Equal(0, (await harness.WaitForExitAsync(TimeSpan.FromSeconds(40))).ExitCode);
        }

        // A new harness (the agent restarted): the kept session is loaded, not a new one opened.
        await SendToAliceAsync("after the restart");
        await using (var harness = Harness("good"))
        {
            var resumed = (await TurnsAsync(harness, 3))[0];
            Assert.Equal(session, ReceivedOf("session/load").Single().GetProperty("params").GetProperty("sessionId").GetString());
            // The conversation the load replays is history, not this turn's transcript.
            var entries = await _hive.GetAsync<TranscriptEntryView[]>($"/api/agents/alice/transcript?turn={resumed.Id}");
            Assert.Contains(entries, e => e.Kind == "text" && e.Text.StartsWith("echo: ", StringComparison.Ordinal));
            Assert.DoesNotContain(entries, e => e.Text.Contains("(history", StringComparison.Ordinal));
            Assert.Single(ReceivedOf("session/new"));
            Assert.Equal(session, ReceivedOf("session/prompt").Last().GetProperty("params").GetProperty("sessionId").GetString());
        }
    }

    [Theory]
    [InlineData("silent", "the agent did not answer initialize within 2 s")]
    [InlineData("broken", "broken JSON-RPC: a line that is not a JSON object (this is not JSON-RPC)")]
    [InlineData("flood", "flooded: more than 20000 session updates in one turn")]
    public async Task An_agent_that_goes_wrong_ends_its_turn_with_the_reason_unacknowledged_and_the_harness_goes_on(string mode, string reason)
    {
        await SendToAliceAsync("hello");
        await using var harness = mode == "silent" ? Harness(mode, "--init-timeout", "2") : Harness(mode);
        var turn = (await TurnsAsync(harness, 1))[0];
        Assert.True(("failed", reason) == (turn.ResultKind, turn.Note), $"{turn.ResultKind}: {turn.Note}\n{harness.Stderr}");
        Assert.Equal(1, Undelivered); // it comes back
        Assert.False(harness.HasExited, harness.Stderr);
        using var health = await _hive.Http.GetAsync("/healthz");
        Assert.True(health.IsSuccessStatusCode);
    }

    [Fact]
    public async Task A_file_asked_for_outside_the_work_dir_is_refused_and_ends_the_turn()
    {
        var outside = Directory.CreateTempSubdirectory("hive-acp-outside-").FullName;
        try
        {
            var secret = Path.Combine(outside, "secret.txt");
            await File.WriteAllTextAsync(secret, "not for the agent");
            var inside = Path.Combine(_dir, "inside.txt");
            await File.WriteAllTextAsync(inside, "for the agent");
            // A link inside the work dir pointing out is outside too.
            File.CreateSymbolicLink(Path.Combine(_dir, "link.txt"), secret);
            await SendToAliceAsync($"READ:{inside}");
            await using var harness = Harness("good");
            var read = (await TurnsAsync(harness, 1))[0];
            Assert.True(read.ResultKind == "ok", $"{read.Note}\n{harness.Stderr}");
            Assert.Contains(Received(), m => m.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.Object
                                             && r.TryGetProperty("content", out var c) && c.GetString() == "for the agent");

            foreach (var (path, n) in new[] { (secret, 2), (Path.Combine(_dir, "link.txt"), 3) })
            {
                await SendToAliceAsync($"READ:{path}");
                var turn = (await TurnsAsync(harness, n))[0];
                Assert.Equal("failed", turn.ResultKind);
                Assert.Equal($"the agent asked to read {path}, outside its work dir and home: refused", turn.Note);
            }
            Assert.DoesNotContain(Received(), m => m.GetRawText().Contains("not for the agent", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    /// <summary><see cref="HiveInstance.Until"/> (60 s), saying on a timeout what the harness said.</summary>
    private static async Task UntilAsync(RunningHivectl harness, Func<bool> condition, string what)
    {
        try
        {
            await HiveInstance.Until(condition, TimeSpan.FromSeconds(60), what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nthe harness's stderr:\n{harness.Stderr}");
        }
    }
}
