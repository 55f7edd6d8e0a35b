using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.TurnStats;

namespace Hive.Tests.Cli;

/// <summary>
/// <c>hivectl run -- COMMAND</c> against a real hive, with a fake agent command (a shell script written
/// here) that prints Claude Code's stream-json and replies with <c>hivectl send</c>. Its first run crashes mid-turn: the
/// messages come back flagged redelivered, are handled on the next run and acknowledged only then; the turn rows carry
/// the parsed model, tokens and tool counts. SIGTERM ends the harness with 0.
/// </summary>
public sealed class HarnessTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-harness-").FullName;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:Messages:AckTimeoutSeconds", "1");

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private const string FakeAgent = """
        #!/bin/sh
        # A fake agent: crashes on its first turn; afterwards replies to each message and prints stream-json.
        marker="$1"; hivectl="$2"
        printf '%s\n' "$HIVE_WAKE" >> "$marker.wakes"
        if [ ! -e "$marker" ]; then
          : > "$marker"; cat > /dev/null
          echo '{"type":"assistant","message":{"model":"fake-1","content":[{"type":"tool_use","name":"Bash"}]}}'
          exit 3
        fi
        while IFS= read -r line; do
          printf '%s\n' "$line" >> "$marker.seen"
          from=$(printf '%s' "$line" | sed -n 's/.*"from":"\([^"]*\)".*/\1/p')
          dotnet "$hivectl" send "$from" "handled" > /dev/null || exit 4
        done
        echo '{"type":"system","subtype":"init"}'
        echo '{"type":"assistant","message":{"model":"fake-1","content":[{"type":"text","text":"on it"},{"type":"tool_use","name":"Bash"},{"type":"tool_use","name":"Read"}]}}'
        echo '{"type":"assistant","message":{"model":"fake-1","content":[{"type":"tool_use","name":"Bash"}]}}'
        echo '{"type":"result","subtype":"success","is_error":false,"usage":{"input_tokens":120,"output_tokens":45,"cache_read_input_tokens":1000,"cache_creation_input_tokens":7}}'
        """;

    [Fact]
    public async Task Each_wake_runs_the_command_once_a_crash_redelivers_and_turns_are_recorded()
    {
        var script = Path.Combine(_dir, "fake-agent.sh");
        await File.WriteAllTextAsync(script, FakeAgent.Replace("\r", ""));
        var marker = Path.Combine(_dir, "ran");
        await using var bob = await _hive.ConnectAsync("bob");
        var sent = new[] { await bob.SendAsync("alice", "first"), await bob.SendAsync("alice", "second") };

        await using var harness = Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--", "/bin/sh", script, marker, Hivectl.Dll]);

        // Two replies, once the crashed turn's messages came back and were handled.
        var replies = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (replies.Count < 2 && DateTime.UtcNow < deadline)
            if (await bob.RecvMessageAsync(5_000) is { } reply)
            {
                await bob.AckAsync(reply.Id);
                replies.Add(reply.Body);
            }
        Assert.Equal(["handled", "handled"], replies);
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE recipient = 'alice' AND delivered_at IS NULL") == 0,
            TimeSpan.FromSeconds(30), "alice's messages acknowledged");

        var seen = (await File.ReadAllLinesAsync(marker + ".seen")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(sent, seen.Select(m => m.Deserialize<MessageView>(HiveJson.Options)!.Id).Order());
        // Handed out to the crashed run first. The wire's flag, raw: the record computes it.
        Assert.All(seen, m => Assert.True(m.GetProperty("redelivered").GetBoolean()));
        Assert.Contains("possibly already handled", await File.ReadAllTextAsync(marker + ".wakes"));

        TurnView[] turns = [];
        await HiveInstance.Until(() => (turns = _hive.GetAsync<TurnView[]>("/api/agents/alice/turns").GetAwaiter().GetResult()).Length >= 2,
            TimeSpan.FromSeconds(30), "two turns recorded");
        var (ok, failed) = (turns[0], turns[1]);
        Assert.Equal("failed", failed.ResultKind);
        Assert.Equal("ok", ok.ResultKind);
        Assert.Equal("fake-1", ok.Model);
        Assert.Equal(120, ok.InputTokens);
        Assert.Equal(45, ok.OutputTokens);
        Assert.Equal(1000, ok.CacheReadTokens);
        Assert.Equal(2, ok.Tools["Bash"]);
        Assert.Equal(1, ok.Tools["Read"]);
        Assert.Equal("bob", ok.WakeFrom);

        ProcessTable.Kill(harness.Pid, signal: 15);
        var ended = await harness.WaitForExitAsync(TimeSpan.FromSeconds(40));
        Assert.True(ended.ExitCode == 0, ended.Stderr);
    }

    /// <summary>
    /// A full batch of messages near the body limit, from bob to alice. Their JSON lines (non-ASCII is written as
    /// <c>\uXXXX</c>) come to some 96 KiB, more than a pipe holds (64 KiB), so COMMAND's stdin cannot take them unread.
    /// </summary>
    private async Task<List<long>> SendLargeBatchAsync()
    {
        await using var bob = await _hive.ConnectAsync("bob");
        var ids = new List<long>();
        for (var i = 0; i < 32; i++) ids.Add(await bob.SendAsync("alice", $"{i:00} " + new string('é', 510))); // 1023 UTF-8 bytes
        return ids;
    }

    private long Count(string where, IEnumerable<long> ids) =>
        _hive.QueryDb<long>($"SELECT count(*) FROM messages WHERE id IN @ids AND {where}", new { ids });

    /// <summary><see cref="HiveInstance.Until"/> (30 s), saying on a timeout what the harness said.</summary>
    private static async Task UntilAsync(RunningHivectl harness, Func<bool> condition, string what)
    {
        try
        {
            await HiveInstance.Until(condition, TimeSpan.FromSeconds(30), what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nthe harness's stderr:\n{harness.Stderr}");
        }
    }

    [Theory]
    [InlineData("exit 0")]
    [InlineData("sleep 0.2; exit 0")]
    public async Task A_command_that_reads_no_stdin_and_exits_0_acknowledges_the_turn_and_the_harness_goes_on(string script)
    {
        var batch = await SendLargeBatchAsync();
        await using var harness = Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--", "/bin/sh", "-c", script]);

        await UntilAsync(harness, () => Count("delivered_at IS NOT NULL", batch) == batch.Count, "the batch acknowledged");
        await using (var bob = await _hive.ConnectAsync("bob"))
        {
            var next = await bob.SendAsync("alice", "the next wake");
            await UntilAsync(harness, () => Count("delivered_at IS NOT NULL", [next]) == 1, "the next wake acknowledged");
        }
        Assert.True(ProcessTable.IsAlive(harness.Pid), harness.Stderr);
        Assert.All(batch, id => Assert.Equal(1, _hive.QueryDb<long>("SELECT delivery_count FROM messages WHERE id = @id", new { id })));

        ProcessTable.Kill(harness.Pid, signal: 15);
        var ended = await harness.WaitForExitAsync(TimeSpan.FromSeconds(40));
        Assert.True(ended.ExitCode == 0, ended.ToString());
        Assert.DoesNotContain("xception", ended.Stderr);
    }

    [Fact]
    public async Task A_command_that_reads_no_stdin_and_exits_1_gets_its_messages_back_and_the_harness_goes_on()
    {
        var batch = await SendLargeBatchAsync();
        await using var harness = Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--", "/bin/sh", "-c", "exit 1"]);

        // Not acknowledged, each is handed out again (after the 1 s ack timeout) to the next turn of the same harness.
        await UntilAsync(harness, () => Count("delivery_count >= 2", batch) == batch.Count, "the batch handed out again");
        Assert.Equal(0, Count("delivered_at IS NOT NULL", batch));
        Assert.True(ProcessTable.IsAlive(harness.Pid), harness.Stderr);
        // Its stderr is read by a task of this process, which may trail the database: waited for, not read once.
        await UntilAsync(harness, () => harness.Stderr.Contains("exit 1: not acknowledged"), "the harness to say why");

        ProcessTable.Kill(harness.Pid, signal: 15);
        var ended = await harness.WaitForExitAsync(TimeSpan.FromSeconds(40));
        Assert.True(ended.ExitCode == 0, ended.ToString());
        Assert.DoesNotContain("xception", ended.Stderr);
    }
}
