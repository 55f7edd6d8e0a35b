using Hive.Contracts.Json;
using Hive.Contracts.TurnStats;

namespace Hive.Tests.Cli;

/// <summary>
/// <c>hivectl run</c> forwards what COMMAND prints (Claude Code's stream-json as assistant text, tool
/// calls, tool results and the result; other lines as plain output) while the turn runs; the entries arrive on the
/// agent's own stream (<c>/api/events?agent=alice</c>) before COMMAND has finished, never on the main stream; the host
/// files them under the recorded turn, pages them, and keeps at most the configured bytes per turn.
/// </summary>
public sealed class TranscriptHarnessTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-transcript-").FullName;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"], "--Hive:TurnStats:TranscriptTurnBytes", "3000");

    public async Task DisposeAsync()
    {
        await _hive.DisposeAsync();
        await TestDirectories.DeleteAsync(_dir);
    }

    private RunningHivectl Harness(string script)
    {
        var file = Path.Combine(_dir, $"command-{Guid.NewGuid():N}.sh");
        File.WriteAllText(file, script.Replace("\r", ""));
        return Hivectl.Start(["run", "--socket", _hive.SocketPath("alice"), "--", "/bin/sh", file]);
    }

    private async Task SendToAliceAsync(string body)
    {
        await using var bob = await _hive.ConnectAsync("bob");
        await bob.SendAsync("alice", body);
    }

    /// <summary>The next event of <paramref name="type"/>, with every event read on the way in <paramref name="seen"/>.</summary>
    private static async Task<SseEvent> NextOfAsync(SseStream events, string type, Func<SseEvent, bool>? match = null, List<SseEvent>? seen = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
            if (await events.NextAsync(deadline - DateTime.UtcNow) is { } e)
            {
                seen?.Add(e);
                if (e.Type == type && (match?.Invoke(e) ?? true)) return e;
            }
        throw new TimeoutException($"no {type} event");
    }

    private static bool Mentions(SseEvent transcript, string text) =>
        transcript.Payload<TranscriptAppendedPayload>().Entries.Any(e => e.Text.Contains(text, StringComparison.Ordinal));

    private Task<TranscriptEntryView[]> TranscriptAsync(string query) => _hive.GetAsync<TranscriptEntryView[]>("/api/agents/alice/transcript?" + query);

    /// <summary>
    /// <c>turn_recorded</c>'s agent, raw: its payload record is built from the turn and the figures and cannot be read back.
    /// </summary>
    private static bool RecordedFor(SseEvent e, string agent) => e.Json.GetProperty("agent").GetString() == agent;

    [Fact]
    public async Task Entries_arrive_live_on_the_agents_stream_only_and_are_filed_under_the_turn()
    {
        var go = Path.Combine(_dir, "go");
        await using var main = await _hive.OpenEventsAsync();
        await using var page = await SseStream.OpenAsync(_hive.BaseAddress, _hive.Token, "/api/events?agent=alice");
        await using var other = await SseStream.OpenAsync(_hive.BaseAddress, _hive.Token, "/api/events?agent=bob");
        await SendToAliceAsync("hello");
        await using var harness = Harness($$$"""
            cat > /dev/null
            echo '{"type":"system","subtype":"init","session_id":"s-1","model":"fake-1"}'
            echo '{"type":"assistant","message":{"model":"fake-1","content":[{"type":"text","text":"<b>thinking</b> first"}]}}'
            while [ ! -e '{{{go}}}' ]; do sleep 0.05; done
            echo '{"type":"assistant","message":{"model":"fake-1","content":[{"type":"tool_use","id":"t1","name":"mcp__hive__send","input":{"to":"bob","body":"hi bob"}}]}}'
            echo '{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"sent as 7"}]}]}}'
            echo 'a plain line'
            echo '{"type":"result","subtype":"success","is_error":false,"result":"all done","session_id":"s-1","usage":{"input_tokens":3,"output_tokens":1}}'
            """);

        // Live: on alice's stream while COMMAND is still waiting to go on.
        var live = await NextOfAsync(page, "transcript", e => Mentions(e, "<b>thinking</b> first"));
        Assert.Equal("alice", live.Payload<TranscriptAppendedPayload>().Agent);
        Assert.False(File.Exists(go));
        // turn_id present and null, raw: a record cannot tell it from absent.
        var running = await _hive.GetJsonAsync("/api/agents/alice/transcript?turn=running");
        Assert.Contains(running.EnumerateArray(), e => e.GetProperty("kind").GetString() == "text" && e.GetProperty("turn_id").ValueKind == JsonValueKind.Null);

        await File.WriteAllTextAsync(go, "");
        await NextOfAsync(page, "transcript", e => Mentions(e, "all done"));
        var seen = new List<SseEvent>();
        var recorded = await NextOfAsync(main, "turn_recorded", e => RecordedFor(e, "alice"), seen);
        Assert.DoesNotContain(seen, e => e.Type == "transcript"); // the main stream never carries transcripts
        var seenByBob = new List<SseEvent>();
        await NextOfAsync(other, "turn_recorded", e => RecordedFor(e, "alice"), seenByBob);
        Assert.DoesNotContain(seenByBob, e => e.Type == "transcript"); // nor another agent's page

        var turnId = recorded.Json.GetProperty("turn").Deserialize<TurnView>(HiveJson.Options)!.Id;
        var entries = (await TranscriptAsync($"turn={turnId}")).Reverse().ToList();
        Assert.Equal(["system", "text", "tool_use", "tool_result", "output", "result"], entries.Select(e => e.Kind));
        Assert.All(entries, e => Assert.Equal(turnId, e.TurnId));
        Assert.Equal("<b>thinking</b> first", entries[1].Text); // text as printed: the page renders it as text
        Assert.Equal("mcp__hive__send", entries[2].Tool);
        Assert.Contains("hi bob", entries[2].Text);
        Assert.Equal("sent as 7", entries[3].Text);
        Assert.Equal("a plain line", entries[4].Text);
        Assert.Equal("all done", entries[5].Text);

        // Paged newest first by entry id.
        var page1 = await TranscriptAsync("limit=2");
        Assert.Equal(["result", "output"], page1.Select(e => e.Kind));
        var page2 = await TranscriptAsync($"limit=2&before={page1[1].Id}");
        Assert.Equal(["tool_result", "tool_use"], page2.Select(e => e.Kind));
        using var missing = await _hive.Http.GetAsync("/api/agents/nobody/transcript");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_turns_transcript_is_bounded_with_one_truncated_marker()
    {
        await SendToAliceAsync("talk a lot");
        await using var harness = Harness("""
            cat > /dev/null
            i=0
            while [ $i -lt 80 ]; do echo "line $i of a long stretch of plain output, printed by a chatty program"; i=$((i+1)); done
            """);
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT count(*) FROM turns WHERE agent = 'alice'") == 1, TimeSpan.FromSeconds(30), "the turn recorded");

        var entries = (await TranscriptAsync("limit=1000")).Reverse().ToList();
        Assert.Equal("truncated", entries[^1].Kind);
        Assert.Single(entries, e => e.Kind == "truncated");
        Assert.True(entries.SkipLast(1).Sum(e => System.Text.Encoding.UTF8.GetByteCount(e.Text)) <= 3000);
        Assert.Equal("line 0 of a long stretch of plain output, printed by a chatty program", entries[0].Text);
        Assert.True(entries.Count < 80);
    }
}
