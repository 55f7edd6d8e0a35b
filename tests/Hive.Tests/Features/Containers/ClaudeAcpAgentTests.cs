using System.Security.Cryptography;
using Hive.Contracts.TurnStats;
using static Hive.Tests.Features.Containers.ContainersKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The real claude-agent-acp (Zed's ACP adapter, with the Claude Code it bundles) as a hive agent from the
/// <c>claude-acp</c> preset, sealed under bubblewrap, its model a scripted fake of the Messages API reached through the
/// hive's gateway. A wake's message reaches it as a prompt and it calls the hive's send tool (allowed without asking:
/// the hive's own); its request to run a command becomes a question whose "Allow" lets the command run and whose
/// "Reject" reaches the model as a refusal; its transcript is on its page; after a host restart the same session goes on.
/// </summary>
public sealed class ClaudeAcpAgentTests : IAsyncLifetime
{
    private readonly string _key = "sk-ant-api03-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;
    private AgentUnderTest _agent = null!;

    public async Task InitializeAsync()
    {
        if (InstalledCli.ClaudeAcp.Path is not { } adapter) return; // the test itself is skipped, saying why
        _model = await FakeMessagesApi.StartAsync(_key);
        for (var i = 0; i < 200; i++) _model.Enqueue(Decide);
        _hive = await HiveInstance.StartAsync(["bob"], ["--Hive:Presets:ClaudeAcp:Path", adapter,
            .. Hive.Tests.Features.Gateway.GatewayKit.Provider(_model.BaseUrl)]);
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        _agent = new AgentUnderTest(_hive, "alice");
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    /// <summary>
    /// The model, by the last message of the conversation: a tool's result ends the turn with a text; a wake asking to greet
    /// bob or to touch a file calls the tool (only on the agent's own calls, those offering tools); anything else is "OK.".
    /// </summary>
    private static ModelReply Decide(FakeMessagesApi.RecordedRequest request)
    {
        var last = request.Messages.Count > 0 ? request.Messages[^1].GetRawText() : "";
        if (last.Contains("tool_result", StringComparison.Ordinal)) return ModelReply.Text("Done.");
        if (last.Contains("GREET-BOB", StringComparison.Ordinal) && request.ToolNames.Contains("mcp__hive__send"))
            return ModelReply.ToolUse("mcp__hive__send", """{"to":"bob","body":"hello bob, from alice over acp"}""");
        foreach (var file in new[] { "touched-one", "touched-two" })
            if (last.Contains($"TOUCH {file}", StringComparison.Ordinal) && request.ToolNames.Contains("Bash"))
                return ModelReply.ToolUse("Bash", $$"""{"command":"touch {{file}}.txt","description":"make the file"}""");
        return ModelReply.Text("OK.");
    }

    /// <summary>The tool result a call of the model answers, when its last message is one and the call before it touched <paramref name="file"/>.</summary>
    private static string? ResultOf(FakeMessagesApi.RecordedRequest request, string file) =>
        request.Messages.Count >= 2 && request.Messages[^1].GetRawText() is var last && last.Contains("tool_result", StringComparison.Ordinal)
        && request.Messages[^2].GetRawText().Contains($"touch {file}", StringComparison.Ordinal) ? last : null;

    [ClaudeAcpFact]
    public async Task A_claude_acp_agent_calls_the_hives_tool_its_command_waits_for_the_operator_and_its_session_survives_a_restart()
    {
        var row = await CreateAsync(_hive.Http, new { name = "alice", preset = "claude-acp", driver = "bubblewrap", purpose = "greet and touch files" });
        Assert.Equal(("running", "sealed", "gateway"), (row.State(), row.GetProperty("network").GetString(), row.GetProperty("model_calls").GetString()));

        // A wake is a prompt; the model calls the hive's send tool, allowed without a question, and bob gets the message.
        await _agent.SendAsync("GREET-BOB please");
        var received = await _agent.ReceivedByAsync("bob");
        Assert.Equal(("alice", "hello bob, from alice over acp"), (received.GetProperty("from").GetString(), received.GetProperty("body").GetString()));
        // The preset's system prompt reached the model through the session's _meta.
        Assert.Contains(_model.MessagesRequests, r => r.Body!.Value.GetProperty("system").GetRawText().Contains("You are alice, an agent in a hive", StringComparison.Ordinal));
        var greeted = await _agent.TurnAsync(1);
        Assert.True(greeted.ResultKind == "ok", $"{greeted.Note}\n{_agent.Log()}");
        var transcript = await _hive.GetAsync<TranscriptEntryView[]>($"/api/agents/alice/transcript?turn={greeted.Id}");
        Assert.Contains(transcript, e => e.Kind == "tool_use" && e.Tool == "mcp__hive__send");
        Assert.Contains(transcript, e => e.Kind == "system" && e.Text.Contains("allowed by hive", StringComparison.Ordinal));
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = 'hive'"));

        // A command asks: the operator's "Allow" lets it run (its result is no refusal).
        await _agent.SendAsync("TOUCH touched-one");
        var first = await _agent.QuestionAsync();
        Assert.Contains("alice asks permission to run a command", _agent.QuestionText(first));
        Assert.Contains("touch touched-one.txt", _agent.QuestionText(first));
        await _agent.AnswerAsync(first, "Allow");
        var ran = await _model.WaitForRequestAsync(r => ResultOf(r, "touched-one.txt") is not null, TimeSpan.FromSeconds(120));
        Assert.DoesNotContain("refused", ResultOf(ran, "touched-one.txt"), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("ok", (await _agent.TurnAsync(2)).ResultKind);

        // The next command: "Reject" reaches the model as the adapter's refusal.
        await _agent.SendAsync("TOUCH touched-two");
        var second = await _agent.QuestionAsync();
        Assert.NotEqual(first, second);
        await _agent.AnswerAsync(second, "Reject");
        var refused = await _model.WaitForRequestAsync(r => ResultOf(r, "touched-two.txt") is not null, TimeSpan.FromSeconds(120));
        Assert.Contains("User refused permission to run tool", ResultOf(refused, "touched-two.txt"));
        await _agent.TurnAsync(3);
        var decisions = (await _hive.GetJsonAsync("/api/agents/alice/permissions")).EnumerateArray()
            .Select(p => (p.GetProperty("kind").GetString(), p.GetProperty("state").GetString(), p.GetProperty("decided_by").GetString())).ToList();
        Assert.Contains(("execute", "allow", "operator"), decisions);
        Assert.Contains(("execute", "deny", "operator"), decisions);

        // A host restart: the harness loads the session it kept, so the model sees the earlier conversation.
        await _hive.RestartAsync();
        await _agent.SendAsync("after the restart");
        var resumed = await _model.WaitForRequestAsync(r => r.Mentions("after the restart") && r.ToolNames.Contains("mcp__hive__send"), TimeSpan.FromSeconds(180));
        Assert.True(resumed.Mentions("GREET-BOB please"), $"the conversation did not go on after the restart: {resumed}");
        await _agent.TurnAsync(4);
    }
}
