using System.Security.Cryptography;
using Hive.Contracts.TurnStats;
using Hive.Tests.Features.Gateway;
using static Hive.Tests.Features.Containers.ContainersKit;
using Reply = Hive.Testing.FakeOpenAiApi.Reply;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The real opencode (which speaks ACP itself) as a hive agent from the <c>opencode</c> preset, sealed under bubblewrap,
/// its model a scripted fake of OpenAI's Responses API reached through the hive's gateway (provider <c>openai</c>). The
/// preset gives it the hive's system prompt and has it ask before every tool call: a wake's message reaches it as a prompt and its call of the hive's
/// send tool (which opencode names <c>hive_send</c>) is allowed by the hive without a question; a command waits for the
/// operator, whose "Allow" runs it and whose "Reject" stops it; the gateway meters its calls; nothing outlives its stop.
/// </summary>
public sealed class OpenCodeAgentTests : IAsyncLifetime
{
    private readonly string _key = "sk-proj-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
    private FakeOpenAiApi _model = null!;
    private HiveInstance _hive = null!;
    private AgentUnderTest _agent = null!;

    public async Task InitializeAsync()
    {
        if (InstalledCli.OpenCode.Path is not { } program) return; // the test itself is skipped, saying why
        _model = await FakeOpenAiApi.StartAsync(_key);
        for (var i = 0; i < 200; i++) _model.Enqueue(Decide);
        _hive = await HiveInstance.StartAsync(["bob"], ["--Hive:Presets:Opencode:Path", program, .. GatewayKit.OpenAiProvider(_model.BaseUrl)]);
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/openai", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        _agent = new AgentUnderTest(_hive, "opal");
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    /// <summary>
    /// The model: a tool's output ends the turn with a text; a wake asking to greet bob calls the hive's send tool, one asking
    /// to touch a file runs it through opencode's bash tool (only on calls offering those tools: not its title call);
    /// anything else is "OK.".
    /// </summary>
    private static Reply Decide(FakeOpenAiApi.RecordedRequest request)
    {
        var last = request.LastInput;
        if (last.Contains("\"function_call_output\"", StringComparison.Ordinal)) return Reply.Text("Done.");
        if (last.Contains("GREET-BOB", StringComparison.Ordinal) && request.ToolNames.Contains("hive_send"))
            return Reply.FunctionCall("hive_send", """{"to":"bob","body":"hello bob, from opal over opencode"}""");
        foreach (var file in new[] { "touched-one", "touched-two" })
            if (last.Contains($"TOUCH {file}", StringComparison.Ordinal) && request.ToolNames.Contains("bash"))
                return Reply.FunctionCall("bash", $$"""{"command":"touch {{file}}.txt","description":"make the file"}""");
        return Reply.Text("OK.");
    }

    [OpenCodeFact]
    public async Task An_opencode_agent_calls_the_hives_tool_through_the_gateway_its_commands_wait_for_the_operator_and_nothing_outlives_its_stop()
    {
        // Named for this class alone: its processes are looked for machine-wide, by the agent's name.
        var row = await CreateAsync(_hive.Http, new { name = "opal", preset = "opencode", driver = "bubblewrap", purpose = "greet and touch files" });
        Assert.Equal(("running", "sealed", "gateway"), (row.State(), row.GetProperty("network").GetString(), row.GetProperty("model_calls").GetString()));

        // A wake is a prompt; opencode asks before calling hive_send, the hive allows its own tool, and bob gets the message.
        await _agent.SendAsync("GREET-BOB please");
        var received = await _agent.ReceivedByAsync("bob");
        Assert.Equal(("opal", "hello bob, from opal over opencode"), (received.GetProperty("from").GetString(), received.GetProperty("body").GetString()));
        var greeted = await _agent.TurnAsync(1);
        Assert.True(greeted.ResultKind == "ok", $"{greeted.Note}\n{_agent.Log()}");
        var transcript = await _hive.GetAsync<TranscriptEntryView[]>($"/api/agents/opal/transcript?turn={greeted.Id}");
        Assert.Contains(transcript, e => e.Kind == "tool_use" && e.Tool == "mcp__hive__send");
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = 'hive'"));
        Assert.Contains(("mcp__hive__send", "allow", "hive"), (await _hive.GetJsonAsync("/api/agents/opal/permissions")).EnumerateArray()
            .Select(p => (p.GetProperty("tool").GetString(), p.GetProperty("state").GetString(), p.GetProperty("decided_by").GetString())));

        // Its calls went through the gateway, with the key the hive holds, and were metered.
        var calls = _model.ModelRequests;
        Assert.Contains(calls, c => c.FunctionCallOutputs.Count > 0);
        Assert.All(calls, c => Assert.True(c.IsResponses && c.KeyMatched && c.Model == "gpt-4.1", c.ToString()));
        // The preset's system prompt reached the model (written where opencode reads its global rules, AGENTS.md).
        Assert.Contains(calls, c => c.Carries("You are opal, an agent in a hive"));
        var metered = (await GatewayKit.CallsAsync(_hive)).Where(c => c.Agent == "opal").ToList();
        Assert.True(metered.Count >= 2 && metered.All(c => c.Provider == "openai" && c.InputTokens > 0 && c.OutputTokens > 0), string.Join("\n", metered));
        Assert.True(greeted.InputTokens > 0 && greeted.OutputTokens > 0, $"{greeted}");

        // A command asks: the operator's "Allow" runs it.
        await _agent.SendAsync("TOUCH touched-one");
        var first = await _agent.QuestionAsync();
        Assert.Contains("touch touched-one.txt", _agent.QuestionText(first));
        await _agent.AnswerAsync(first, "Allow once");
        Assert.True((await _agent.TurnAsync(2)).ResultKind == "ok", _agent.Log());
        Assert.True(_agent.Made("touched-one.txt"), _agent.Log());

        // The next: "Reject" stops it (opencode then ends its turn without asking its model again).
        await _agent.SendAsync("TOUCH touched-two");
        var second = await _agent.QuestionAsync();
        Assert.NotEqual(first, second);
        await _agent.AnswerAsync(second, "Reject");
        await _agent.TurnAsync(3);
        Assert.False(_agent.Made("touched-two.txt"), _agent.Log());
        var decisions = (await _hive.GetJsonAsync("/api/agents/opal/permissions")).EnumerateArray()
            .Select(p => (p.GetProperty("kind").GetString(), p.GetProperty("state").GetString(), p.GetProperty("decided_by").GetString())).ToList();
        Assert.Contains(("execute", "allow", "operator"), decisions);
        Assert.Contains(("execute", "deny", "operator"), decisions);

        // Stopped, the agent leaves nothing behind: not opencode, not its MCP server.
        var (stopped, _) = await PostAsync(_hive.Http, "/api/agents/opal/stop");
        Assert.True((int)stopped is >= 200 and < 300, $"{stopped}");
        await HiveInstance.Until(() => AgentProcesses("opal").Count == 0, TimeSpan.FromSeconds(30),
            $"opal's processes to be gone: {string.Join("; ", AgentProcesses("opal").Select(p => $"{p.Pid} {p.Command}"))}");
    }
}
