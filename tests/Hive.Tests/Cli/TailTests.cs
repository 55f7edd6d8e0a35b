namespace Hive.Tests.Cli;

/// <summary>
/// <c>hivectl tail</c> follows the event stream across a host restart: a hive of its own on a fixed port (so the
/// restarted host is at the same address), the tail reconnecting with Last-Event-ID, told it missed events
/// (<c>resync</c>: ids do not carry over a restart), and printing what happens next.
/// </summary>
public sealed class TailTests
{
    [Fact]
    public async Task Tail_prints_events_and_resumes_across_a_host_restart()
    {
        var port = HostProcess.FreePort();
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"], "--urls", $"http://127.0.0.1:{port}");
        await using var tail = Hivectl.Start(["tail", "--json", "--url", hive.BaseAddress.ToString(), "--data-dir", hive.DataDir]);
        static JsonElement Parse(string line) => JsonDocument.Parse(line).RootElement;
        static bool Is(string line, string type, string? body = null)
        {
            var e = Parse(line);
            return e.GetProperty("event").GetString() == type && (body is null || e.GetRawText().Contains(body, StringComparison.Ordinal));
        }

        await tail.UntilLineAsync(l => Is(l, "hello"), TimeSpan.FromSeconds(15), "hello");
        await using (var alice = await hive.ConnectAsync("alice")) await alice.SendAsync("bob", "before the restart");
        var before = Parse(await tail.UntilLineAsync(l => Is(l, "sent", "before the restart"), TimeSpan.FromSeconds(15), "the first send"));
        Assert.True(before.GetProperty("id").GetInt64() > 0);

        await hive.RestartAsync();
        Assert.Equal(port, hive.BaseAddress.Port);
        // The tail reconnects (with a backoff) sending the last id it saw; the new run does not have it: resync.
        await tail.UntilLineAsync(l => Is(l, "resync"), TimeSpan.FromSeconds(30), "the resync after the restart");
        await using (var alice = await hive.ConnectAsync("alice")) await alice.SendAsync("bob", "after the restart");
        await tail.UntilLineAsync(l => Is(l, "sent", "after the restart"), TimeSpan.FromSeconds(15), "the send after the restart");

        // Every line is one JSON object; nothing was printed twice.
        var lines = tail.StdoutLines.Select(Parse).ToList();
        Assert.Single(lines, e => e.GetRawText().Contains("before the restart", StringComparison.Ordinal) && e.GetProperty("event").GetString() == "sent");
        Assert.Matches("reconnecting|retrying", tail.Stderr);
    }

    [Fact]
    public async Task Tail_prints_readable_lines_resumes_from_since_and_stops_on_ctrl_c()
    {
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"]);
        var seq = (await hive.GetJsonAsync("/api/state")).GetProperty("seq").GetInt64();
        await using (var alice = await hive.ConnectAsync("alice")) await alice.SendAsync("bob", "sent before tail started");

        // --since replays what came after that seq, then goes on live.
        await using var tail = Hivectl.Start(["tail", "--since", seq.ToString(), "--url", hive.BaseAddress.ToString(), "--token", hive.Token!]);
        await tail.UntilLineAsync(l => l.Contains("sent: ", StringComparison.Ordinal) && l.Contains("alice → bob: sent before tail started", StringComparison.Ordinal),
            TimeSpan.FromSeconds(15), "the replayed send");

        // Ctrl-C (SIGINT) ends it promptly.
        ProcessTable.Kill(tail.Pid, signal: 2);
        var ended = await tail.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(130, ended.ExitCode);

        // A wrong token is not retried: exit 1, unauthorized.
        var refused = await Hivectl.RunAsync(["tail", "--url", hive.BaseAddress.ToString(), "--token", "wrong-token-wrong-token"]);
        refused.Refused("unauthorized");
    }
}
