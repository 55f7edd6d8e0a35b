using Hive.Contracts.TurnStats;

namespace Hive.Tests.Cli.Pty;

/// <summary>
/// <c>hivectl run --pty</c>, the harness typing into a terminal program (<see cref="FakeTerminalProgram"/>) on a
/// pseudo-terminal: the program runs in a session of its own with the pty as its controlling terminal, kept between
/// wakes; each message of a wake is typed in as a line and answered before the next, the turn ending on the idle prompt;
/// the screen as a terminal shows it (its redrawing applied, no escape sequences) reaches the transcript the agent's page
/// reads. A program that exits or hangs mid-turn, or never shows its prompt, fails the turn with the reason on its row,
/// unacknowledged, and nothing of it is left running; the next wake starts it again.
/// </summary>
public sealed class PtyHarnessTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-pty-").FullName;
    private string Log => Path.Combine(_dir, "program.log");

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Messages:AckTimeoutSeconds", "600");

    public async Task DisposeAsync()
    {
        // Whatever a failed test left of the programs it started, by their own pids.
        foreach (var pid in Started().Select(s => s.GetProperty("pid").GetInt32()).Where(ProcessTable.IsAlive)) ProcessTable.Kill(pid);
        await _hive.DisposeAsync();
        await TestDirectories.DeleteAsync(_dir);
    }

    private RunningHivectl Harness(string mode, params string[] options) =>
        Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--pty", .. options, "--", "python3", FakeTerminalProgram.WriteTo(_dir), mode],
            env: new Dictionary<string, string> { ["FAKE_PTY_LOG"] = Log }, workingDirectory: _dir);

    private async Task<long> SendToAliceAsync(string body)
    {
        await using var bob = await _hive.ConnectAsync("bob");
        return await bob.SendAsync("alice", body);
    }

    private List<JsonElement> Logged() => File.Exists(Log)
        ? File.ReadAllLines(Log).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList()
        : [];

    private List<JsonElement> Started() => Logged().Where(e => e.GetProperty("event").GetString() == "started").ToList();

    private List<string> Read() => Logged().Where(e => e.GetProperty("event").GetString() == "read").Select(e => e.GetProperty("line").GetString()!).ToList();

    private async Task<TurnView[]> TurnsAsync(RunningHivectl harness, int count)
    {
        TurnView[] turns = [];
        await UntilAsync(harness, () => (turns = _hive.GetAsync<TurnView[]>("/api/agents/alice/turns").GetAwaiter().GetResult()).Length >= count, $"{count} turn(s) recorded");
        return turns;
    }

    private Task<TranscriptEntryView[]> TranscriptAsync(long turn) => _hive.GetAsync<TranscriptEntryView[]>($"/api/agents/alice/transcript?turn={turn}");

    private long Undelivered => _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'alice' AND delivered_at IS NULL");

    [Fact]
    public async Task A_wakes_messages_are_typed_in_one_by_one_and_the_screen_reaches_the_transcript()
    {
        var first = await SendToAliceAsync("hello over a pty");
        var second = await SendToAliceAsync("two\nlines and a \u001b[31mkey\u0003");
        await using var harness = Harness("cli");
        var turn = (await TurnsAsync(harness, 1))[0];
        Assert.True(turn.ResultKind == "ok", $"{turn.ResultKind}: {turn.Note}\n{harness.Stderr}");
        Assert.Equal(0, Undelivered);
        Assert.Equal((null, 0L, 0L, null), (turn.Model, turn.InputTokens, turn.ToolCallCount, turn.CostUsd)); // a screen tells no figures

        // Typed as a person would, one line each, a control character never a key: the program read both in its turn.
        Assert.Equal([$"Message {first} from bob: hello over a pty", $"Message {second} from bob: two lines and a [31mkey "], Read());
        var started = Assert.Single(Started());
        var pid = started.GetProperty("pid").GetInt32();
        Assert.Equal((pid, pid), (started.GetProperty("sid").GetInt32(), started.GetProperty("pgid").GetInt32()));
        Assert.True(started.GetProperty("ctty").GetBoolean() && started.GetProperty("tty").GetBoolean(), started.GetRawText());
        Assert.Equal(("xterm", _hive.SocketPath("alice")), (started.GetProperty("term").GetString(), started.GetProperty("socket").GetString()));

        // The screen as a terminal shows it: redrawn lines replaced, attributes and escapes gone.
        var entries = await TranscriptAsync(turn.Id);
        Assert.Contains(entries, e => e.Kind == "system" && e.Text == $"typed: Message {first} from bob: hello over a pty");
        var screen = entries.First(e => e.Kind == "screen").Text; // newest first
        Assert.Contains("fake cli 1.0: type a message", screen);
        Assert.Contains($"> Message {first} from bob: hello over a pty\nreply: MESSAGE {first} FROM BOB: HELLO OVER A PTY\n", screen);
        Assert.EndsWith($"reply: MESSAGE {second} FROM BOB: TWO LINES AND A [31MKEY\n>", screen); // rows without their trailing blanks
        Assert.DoesNotContain("thinking", screen);
        Assert.DoesNotContain("draft", screen);
        Assert.DoesNotContain('\u001b', screen);

        // The next wake types into the same program.
        await SendToAliceAsync("and again");
        Assert.Equal("ok", (await TurnsAsync(harness, 2))[0].ResultKind);
        Assert.Single(Started());
        Assert.Equal(3, Read().Count);

        // Stopping the harness stops the program's whole group.
        ProcessTable.Kill(harness.Pid, signal: 15);
        Assert.Equal(0, (await harness.WaitForExitAsync(TimeSpan.FromSeconds(40))).ExitCode);
        await ProcessTable.UntilGoneAsync([pid]);
        Assert.Empty(ProcessTable.GroupMembers(pid));
    }

    [Fact]
    public async Task A_program_that_exits_mid_turn_fails_the_turn_with_the_reason_and_is_started_again_at_the_next_wake()
    {
        var exit = await SendToAliceAsync("EXIT now");
        await using var harness = Harness("cli");
        var gone = await FailedTurnAsync(harness, "python3 exited (exit code 3)", "bye, exiting");

        // The next wake starts it again, and it answers.
        var after = await SendToAliceAsync("after that");
        var next = (await TurnsAsync(harness, 2))[0];
        Assert.True(next.ResultKind == "ok", $"{next.ResultKind}: {next.Note}\n{harness.Stderr}");
        Assert.Equal(2, Started().Count);
        Assert.NotEqual(gone, Started()[1].GetProperty("pid").GetInt32());
        Assert.Equal([$"Message {exit} from bob: EXIT now", $"Message {after} from bob: after that"], Read());
        Assert.False(harness.HasExited, harness.Stderr);
    }

    [Fact]
    public async Task A_program_whose_prompt_is_not_back_within_the_turn_timeout_fails_the_turn_and_is_stopped()
    {
        await SendToAliceAsync("HANG please");
        await using var harness = Harness("cli", "--turn-timeout", "2");
        await FailedTurnAsync(harness, @"the idle prompt ([>$#%❯›]\s*$) was not back within 2 s", "working on it");
        Assert.False(harness.HasExited, harness.Stderr);
    }

    [Fact]
    public async Task A_turn_the_hive_revokes_is_interrupted_with_ctrl_c_and_the_program_back_at_its_prompt_is_kept()
    {
        var id = await SendToAliceAsync("HANG please");
        await using var harness = Harness("cli");
        await UntilAsync(harness, () => Logged().Any(e => e.GetProperty("event").GetString() == "hanging"), "the program at work");
        (await _hive.Http.PostAsJsonAsync("/api/governance/halt", new { reason = "test" })).EnsureSuccessStatusCode();
        var turn = (await TurnsAsync(harness, 1))[0];
        Assert.True(turn.ResultKind == "failed" && turn.Note!.StartsWith("stopped (halted)", StringComparison.Ordinal), $"{turn.ResultKind}: {turn.Note}\n{harness.Stderr}");
        Assert.Equal(1, Undelivered);
        var screen = (await TranscriptAsync(turn.Id)).First(e => e.Kind == "screen").Text;
        Assert.Contains("working on it\n", screen);
        Assert.EndsWith("interrupted\n>", screen); // after the terminal's own echo of the key, ^C

        // Back at its prompt, it is kept: after the resume the message comes back, flagged, to the same program.
        (await _hive.Http.PostAsync("/api/governance/resume", null)).EnsureSuccessStatusCode();
        var after = await SendToAliceAsync("after the halt");
        await UntilAsync(harness, () => Undelivered == 0, "both messages handled");
        Assert.Single(Started());
        var read = Read();
        Assert.Equal(3, read.Count);
        Assert.Equal($"Message {id} from bob: HANG please", read[0]);
        Assert.Contains($"Message {id} from bob (handed out before and not acknowledged: possibly already handled): HANG please", read);
        Assert.Contains($"Message {after} from bob: after the halt", read);
    }

    /// <summary>
    /// The one turn recorded failed with <paramref name="reason"/>, its message left to come back, its last screen showing
    /// <paramref name="lastWords"/>, and nothing of the program left running: its pid.
    /// </summary>
    private async Task<int> FailedTurnAsync(RunningHivectl harness, string reason, string lastWords)
    {
        var turn = (await TurnsAsync(harness, 1))[0];
        Assert.True(("failed", reason) == (turn.ResultKind, turn.Note), $"{turn.ResultKind}: {turn.Note}\n{harness.Stderr}");
        Assert.Equal(1, Undelivered);
        var entries = await TranscriptAsync(turn.Id);
        Assert.Contains(lastWords, entries.First(e => e.Kind == "screen").Text); // newest first
        Assert.Contains(entries, e => e.Kind == "result" && e.Text == $"failed: {reason}");
        var pid = Assert.Single(Started()).GetProperty("pid").GetInt32();
        await ProcessTable.UntilGoneAsync([pid]);
        Assert.Empty(ProcessTable.GroupMembers(pid));
        return pid;
    }

    [Fact]
    public async Task A_program_that_never_shows_its_prompt_fails_the_turn_and_is_stopped()
    {
        await SendToAliceAsync("hello");
        await using var harness = Harness("mute", "--init-timeout", "2");
        var turn = (await TurnsAsync(harness, 1))[0];
        Assert.Equal(("failed", @"python3 did not show its idle prompt ([>$#%❯›]\s*$) within 2 s of starting"), (turn.ResultKind, turn.Note));
        Assert.Equal(1, Undelivered);
        Assert.Empty(Read());
        // Its pid as the harness said it (the program may have been stopped before it logged anything).
        var started = (await TranscriptAsync(turn.Id)).Single(e => e.Kind == "system" && e.Text.StartsWith("python3 started on a 100×30 terminal", StringComparison.Ordinal));
        var pid = int.Parse(System.Text.RegularExpressions.Regex.Match(started.Text, @"\(pid (\d+)\)").Groups[1].Value);
        await ProcessTable.UntilGoneAsync([pid]);
        Assert.Empty(ProcessTable.GroupMembers(pid));
    }

    [Theory]
    [InlineData("--acp", "--pty, --acp and --claude are ways to run COMMAND: give one")]
    [InlineData("--claude", "--pty, --acp and --claude are ways to run COMMAND: give one")]
    [InlineData("--idle-pattern=(", "--idle-pattern is not a regular expression")]
    public async Task Pty_with_another_way_or_a_broken_pattern_is_a_usage_error(string option, string said)
    {
        var run = await Hivectl.RunAsync(["run", "--socket", _hive.SocketPath("alice"), "--pty", option, "--", "python3", "-c", "pass"]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(said, run.Stderr);
        var without = await Hivectl.RunAsync(["run", "--socket", _hive.SocketPath("alice"), "--idle-pattern", "> $", "--", "true"]);
        Assert.Equal((2, true), (without.ExitCode, without.Stderr.Contains("--idle-pattern and --turn-timeout are for --pty", StringComparison.Ordinal)));
    }

    /// <summary><see cref="HiveInstance.Until"/> (60 s), saying on a timeout what the harness said and what the program logged.</summary>
    private async Task UntilAsync(RunningHivectl harness, Func<bool> condition, string what)
    {
        try
        {
            await HiveInstance.Until(condition, TimeSpan.FromSeconds(60), what);
        }
        catch (TimeoutException e)
        {
            var logged = string.Join('\n', Logged().Select(l => l.GetRawText()));
            throw new TimeoutException($"{e.Message}\nthe harness's stderr:\n{harness.Stderr}\nthe program's log:\n{logged}");
        }
    }
}
