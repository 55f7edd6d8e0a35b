using System.Net;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using static Hive.Tests.Features.Containers.ContainersKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// The gateway's real Claude Code turn (<c>ClaudeCodeAgentTests</c>: the claude-code preset under bubblewrap is asked to greet
/// bob, and its model answers with the hive's send tool) replayed: the replay agent, started from the turn's checkpoint, runs
/// the real Claude Code again, every model call answered from the recording; the fake provider hears nothing, the replay
/// calls the same hive tool with the same arguments, captured (bob receives nothing), and once destroyed leaves nothing.
/// </summary>
public sealed class ClaudeCodeReplayTests : IAsyncLifetime
{
    private readonly string _key = GatewayKit.NewKey();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        if (ClaudeCode.Path is not { } claude) return; // the test itself is skipped, saying why
        _model = await FakeMessagesApi.StartAsync(_key);
        _hive = await HiveInstance.StartAsync(["bob"], ["--Hive:Presets:ClaudeCode:Path", claude, .. GatewayKit.Provider(_model.BaseUrl),
            "--Hive:Governance:LoopTurns", "0"]);
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    [ClaudeCodeFact]
    public async Task The_real_claude_code_turn_replays_with_zero_upstream_requests_and_its_send_to_bob_captured()
    {
        for (var i = 0; i < 10; i++)
            _model.Enqueue(request =>
                request.ToolResults.Count > 0 ? ModelReply.Text("Done: I greeted bob.")
                : request.Mentions("please greet bob") && request.ToolNames.Contains("mcp__hive__send")
                    ? ModelReply.ToolUse("mcp__hive__send", """{"to":"bob","body":"hello bob, from alice"}""")
                    : ModelReply.Text("OK."));
        await CreateAsync(_hive.Http, new { name = "alice", preset = "claude-code", driver = "bubblewrap", purpose = "greet whoever the operator names" });
        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "please greet bob" }))
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        await using (var bob = await _hive.ConnectAsync("bob"))
        {
            var greeting = await bob.RecvAndAckMessageAsync(30_000) ?? await bob.RecvAndAckMessageAsync(30_000) ?? await bob.RecvAndAckMessageAsync(30_000)
                ?? throw new TimeoutException("bob got nothing from alice");
            Assert.Equal("hello bob, from alice", greeting.Body);
        }
        var turn = 0L;
        await HiveInstance.Until(() =>
        {
            var ended = _hive.QueryDb<long>("SELECT coalesce(max(id), 0) FROM governed_turns WHERE agent = 'alice' AND ended_at IS NOT NULL");
            return (turn = ended) > 0;
        }, TimeSpan.FromSeconds(120), "alice's turn to end");
        var recorded = await GatewayCallsOfAsync("alice", turn);
        Assert.Contains(recorded, c => c.State == "complete");
        var heard = _model.Requests.Count;

        // Named for this class: ProcessesOf looks machine-wide, and other classes' hives make alice-replay-N at the same time.
        using var started = await _hive.Http.PostAsJsonAsync($"/api/turns/{turn}/replay", new { into = "alice-claude-replay" });
        Assert.True(started.StatusCode == HttpStatusCode.Created, await started.Content.ReadAsStringAsync());
        var replay = (await started.Content.ReadFromJsonAsync<ReplayView>(HiveJson.Options))!;
        await HiveInstance.Until(() => _hive.GetAsync<ReplayView>($"/api/replays/{replay.Id}").GetAwaiter().GetResult().State != ReplayStates.Running,
            TimeSpan.FromSeconds(180), $"replay {replay.Id} to end");
        replay = await _hive.GetAsync<ReplayView>($"/api/replays/{replay.Id}");

        Assert.True(replay.State == ReplayStates.Identical, $"replay: {System.Text.Json.JsonSerializer.Serialize(replay, HiveJson.Options)}\n" +
            await File.ReadAllTextAsync(Path.Combine(_hive.DataDir, "agents", replay.Agent, "logs", "output.log")));
        Assert.Equal(heard, _model.Requests.Count); // the provider received nothing during the replay
        var send = Assert.Single(replay.Captured);
        Assert.Equal("send", send.Verb);
        Assert.Equal("bob", send.Args.GetProperty("to").GetString());
        Assert.Equal("hello bob, from alice", send.Args.GetProperty("body").GetString());
        Assert.Equal(recorded.Count(c => c.State == "complete"), replay.CallsReplayed);
        await using (var bob = await _hive.ConnectAsync("bob"))
            Assert.Null((await bob.RecvOneAsync(waitMs: 0)).Message); // captured, not delivered

        // The turn as its page reads it: its send to bob among its tool calls, with the result the next call carried back.
        var view = await _hive.GetAsync<TurnView>($"/api/turns/{turn}");
        var tool = Assert.Single(view.ToolCalls, t => t.Name == "mcp__hive__send");
        Assert.True(tool.Hive);
        Assert.Contains("hello bob, from alice", tool.Input);
        Assert.Contains("\"ok\":true", tool.Result);

        await DestroyAsync(_hive, replay.Agent);
        Assert.Empty(GatewayKit.ProcessesOf(replay.Agent));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = @Agent", replay));
    }

    private async Task<List<GatewayKit.CallRow>> GatewayCallsOfAsync(string agent, long turn) =>
        (await GatewayKit.CallsAsync(_hive)).Where(c => c.Agent == agent && c.TurnId == turn).ToList();
}
