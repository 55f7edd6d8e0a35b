using System.Diagnostics;
using Hive.Contracts.Governance;
using Hive.Contracts.TurnStats;
using Hive.Features.Governance;

namespace Hive.Tests.Cli;

/// <summary>
/// The harness's side: <c>hivectl run</c> asks for a turn before COMMAND and records it with its turn_id; a
/// <c>stop</c> from the hive (a halt while a slow COMMAND runs) ends COMMAND's whole process group within the grace and
/// leaves the messages unacknowledged; a Claude-Code-style usage-limit result is reported as a quota circuit with its
/// reset time before the turn is recorded. The governor itself (queue, budgets, caps) is the host's tests'.
/// </summary>
public sealed class GovernedHarnessTests : IAsyncLifetime
{
    private const double GraceSeconds = 2;

    private HiveInstance _hive = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-governed-").FullName;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"],
        "--Hive:Messages:AckTimeoutSeconds", "1", "--Hive:Containers:StopGraceSeconds", GraceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await TestDirectories.DeleteAsync(_dir);
    }

    /// <summary>A fake COMMAND from shell text (its stdin is the messages), and the harness running it as alice.</summary>
    private async Task<RunningHivectl> HarnessAsync(string script)
    {
        var file = Path.Combine(_dir, $"command-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(file, script.Replace("\r", ""));
        return Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--", "/bin/sh", file]);
    }

    private async Task<long> SendToAliceAsync(string body)
    {
        await using var bob = await _hive.ConnectAsync("bob");
        return await bob.SendAsync("alice", body);
    }

    private Task<GovernanceView> GovernanceAsync() => _hive.GetAsync<GovernanceView>("/api/governance");

    private Task<TurnView[]> TurnsAsync() => _hive.GetAsync<TurnView[]>("/api/agents/alice/turns");

    private bool Acknowledged(long id) => _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @id AND delivered_at IS NOT NULL", new { id }) == 1;

    /// <summary><see cref="HiveInstance.Until"/>, saying on a timeout what the harness said.</summary>
    private static async Task UntilAsync(RunningHivectl harness, Func<bool> condition, string what, double seconds = 30)
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

    [Fact]
    public async Task Command_runs_inside_a_granted_turn_which_is_recorded_with_its_id()
    {
        var started = Path.Combine(_dir, "started");
        var go = Path.Combine(_dir, "go");
        await using var events = await _hive.OpenEventsAsync();
        var id = await SendToAliceAsync("hello");
        await using var harness = await HarnessAsync($$$"""
            cat > /dev/null
            : > '{{{started}}}'
            while [ ! -e '{{{go}}}' ]; do sleep 0.05; done
            echo '{"type":"assistant","message":{"model":"fake-1","content":[]}}'
            echo '{"type":"result","subtype":"success","is_error":false,"total_cost_usd":0.0123,"usage":{"input_tokens":100,"output_tokens":20}}'
            """);

        // While COMMAND runs, its turn is the running one: granted before COMMAND started.
        var granted = await events.WaitForPayloadAsync<TurnGrantedPayload>("turn_granted", e => e.Turn.Agent == "alice");
        var turnId = granted.Turn.TurnId;
        await UntilAsync(harness, () => File.Exists(started), "COMMAND started");
        var running = (await GovernanceAsync()).Running.Single();
        Assert.Equal(turnId, running.TurnId);
        Assert.Equal("alice", running.Agent);

        await File.WriteAllTextAsync(go, "");
        var ended = await events.WaitForPayloadAsync<TurnEndedPayload>("turn_ended", e => e.TurnId == turnId);
        Assert.Equal("recorded", ended.Reason); // by record_turn, not by the connection closing
        Assert.Equal(0.0123, ended.CostUsd!.Value, 6);
        await UntilAsync(harness, () => Acknowledged(id), "the message acknowledged");
        // The harness acknowledges before it records, and the slot is let go after turn_ended is published: its log line
        // comes after record_turn's reply, which comes after the slot is free.
        await UntilAsync(harness, () => harness.Stderr.Contains("turn of 1 message(s): ok"), "the turn recorded");

        Assert.Empty((await GovernanceAsync()).Running);
        var turn = (await TurnsAsync()).Single();
        Assert.Equal("ok", turn.ResultKind);
        Assert.Equal(0.0123, turn.CostUsd!.Value, 6);
        Assert.Equal("fake-1", turn.Model);

        ProcessTable.Kill(harness.Pid, signal: 15);
        var exit = await harness.WaitForExitAsync(TimeSpan.FromSeconds(40));
        Assert.True(exit.ExitCode == 0, exit.ToString());
        Assert.DoesNotContain("xception", exit.Stderr);
    }

    [Fact]
    public async Task A_command_that_cannot_start_still_ends_its_turn_by_recording_it()
    {
        await using var events = await _hive.OpenEventsAsync();
        var id = await SendToAliceAsync("hello");
        await using var harness = Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--", Path.Combine(_dir, "no-such-program")]);

        var granted = await events.WaitForPayloadAsync<TurnGrantedPayload>("turn_granted", e => e.Turn.Agent == "alice");
        var turnId = granted.Turn.TurnId;
        var ended = await events.WaitForPayloadAsync<TurnEndedPayload>("turn_ended", e => e.TurnId == turnId);
        Assert.Equal("recorded", ended.Reason);
        await UntilAsync(harness, () => harness.Stderr.Contains("could not run"), "the harness to say why"); // its stderr may trail the event
        Assert.False(Acknowledged(id));
        Assert.True(ProcessTable.IsAlive(harness.Pid), harness.Stderr);
    }

    /// <summary>
    /// COMMAND is a shell with a child in its group; <paramref name="ignoresTerm"/> makes both ignore SIGTERM (the child
    /// inherits it), so only the SIGKILL the harness sends before the grace ends can stop them.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_halt_stops_the_commands_process_group_within_the_grace_and_the_messages_come_back(bool ignoresTerm)
    {
        var pidFile = Path.Combine(_dir, "pid");
        var runs = Path.Combine(_dir, "runs");
        var id = await SendToAliceAsync("work slowly");
        await using var harness = await HarnessAsync($$"""
            cat > /dev/null
            echo run >> '{{runs}}'
            if [ "$(wc -l < '{{runs}}')" -gt 1 ]; then exit 0; fi
            {{(ignoresTerm ? "trap '' TERM" : "")}}
            sleep 600 &
            echo $$ > '{{pidFile}}.tmp'; mv '{{pidFile}}.tmp' '{{pidFile}}'
            wait; wait
            """);
        await UntilAsync(harness, () => File.Exists(pidFile), "COMMAND started");
        var group = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(ProcessTable.GroupMembers(group).Count >= 2, "COMMAND leads a process group of its own, its child in it");
        Assert.DoesNotContain(group, ProcessTable.SelfAndAncestors(harness.Pid)); // and is not the harness's

        (await _hive.Http.PostAsJsonAsync("/api/governance/halt", new { reason = "test" })).EnsureSuccessStatusCode();
        // Gone after the grace (the wait bounds a hang; how soon is not asserted: a loaded machine makes any bound a flake).
        await UntilAsync(harness, () => ProcessTable.GroupMembers(group).Count == 0, "COMMAND's process group gone", GraceSeconds + 10);

        await UntilAsync(harness, () => GovernanceAsync().GetAwaiter().GetResult().Running.Count == 0, "the turn ended");
        await UntilAsync(harness, () => harness.Stderr.Contains("not acknowledged"), "the turn recorded");
        Assert.False(Acknowledged(id));
        Assert.True(ProcessTable.IsAlive(harness.Pid), harness.Stderr);
        var turn = (await TurnsAsync()).Single();
        Assert.Equal("failed", turn.ResultKind);
        Assert.Contains("stopped (halted)", turn.Note);

        // Resumed, the message comes back to the same harness and is handled.
        (await _hive.Http.PostAsync("/api/governance/resume", null)).EnsureSuccessStatusCode();
        await UntilAsync(harness, () => Acknowledged(id), "the message handled after the resume");
        Assert.Equal(2, (await File.ReadAllLinesAsync(runs)).Length);

        ProcessTable.Kill(harness.Pid, signal: 15);
        var exit = await harness.WaitForExitAsync(TimeSpan.FromSeconds(40));
        Assert.True(exit.ExitCode == 0, exit.ToString());
        Assert.DoesNotContain("xception", exit.Stderr);
    }

    [Fact]
    public async Task A_usage_limit_result_holds_its_agent_until_its_reset_and_the_turn_fails_unacknowledged()
    {
        var reset = DateTimeOffset.UtcNow.AddHours(3);
        var epoch = reset.ToUnixTimeSeconds();
        var id = await SendToAliceAsync("think hard");
        await using var harness = await HarnessAsync($$$"""
            cat > /dev/null
            echo '{"type":"result","subtype":"success","is_error":true,"result":"Claude AI usage limit reached|{{{epoch}}}","total_cost_usd":0,"usage":{"input_tokens":0,"output_tokens":0}}'
            exit 1
            """);

        // An agent's own report holds that agent; the provider's circuit needs the provider's word or a second agent's.
        QuotaHoldView? hold = null;
        await UntilAsync(harness, () => (hold = GovernanceAsync().GetAwaiter().GetResult().QuotaHolds
            .Where(c => c.Agent == "alice").ToList() is [var c] ? c : null) is not null,
            "alice's quota hold");
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(epoch), hold!.Until);
        Assert.Equal("anthropic", hold.Provider);

        TurnView[] turns = [];
        await UntilAsync(harness, () => (turns = TurnsAsync().GetAwaiter().GetResult()).Length == 1, "the turn recorded");
        Assert.Equal("failed", turns[0].ResultKind);
        Assert.Equal("usage limit", turns[0].Note);
        Assert.False(Acknowledged(id));
        await UntilAsync(harness, () => harness.Stderr.Contains("usage limit"), "the harness to say why"); // its stderr may trail the row
    }
}
