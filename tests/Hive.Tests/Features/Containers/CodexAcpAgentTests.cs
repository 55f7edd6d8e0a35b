using System.Security.Cryptography;
using Hive.Contracts.TurnStats;
using Hive.Tests.Features.Gateway;
using static Hive.Tests.Features.Containers.ContainersKit;
using Reply = Hive.Testing.FakeOpenAiApi.Reply;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The real codex-acp (Zed's ACP adapter, Codex built in) as a hive agent from the <c>codex</c> preset, sealed under
/// bubblewrap, its model a scripted fake of OpenAI's Responses API reached through the hive's gateway (provider
/// <c>openai</c>). A wake's message reaches it as a prompt and it calls the hive's send tool (by name and namespace, as
/// Codex offers MCP tools; allowed without asking: the hive's own); the gateway meters its calls; a command it would run
/// waits for the operator, and the command, left running, is gone once the agent is stopped.
/// </summary>
public sealed class CodexAcpAgentTests : IAsyncLifetime
{
    private readonly string _key = "sk-proj-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
    private FakeOpenAiApi _model = null!;
    private HiveInstance _hive = null!;
    private AgentUnderTest _agent = null!;

    public async Task InitializeAsync()
    {
        if (InstalledCli.CodexAcp.Path is not { } adapter) return; // the test itself is skipped, saying why
        _model = await FakeOpenAiApi.StartAsync(_key);
        for (var i = 0; i < 200; i++) _model.Enqueue(Decide);
        _hive = await HiveInstance.StartAsync(["bob"], ["--Hive:Presets:Codex:Path", adapter, .. GatewayKit.OpenAiProvider(_model.BaseUrl)]);
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/openai", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        _agent = new AgentUnderTest(_hive, "alice", () => string.Join("\n", _model.ModelRequests.Select(r => $"{r}: {r.LastInput}")));
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    /// <summary>
    /// The model: a tool's output ends the turn with a text; a wake asking to greet bob calls the hive's send tool, one asking
    /// for a long command runs it through the shell (only on calls offering those tools); anything else is "OK.".
    /// </summary>
    private static Reply Decide(FakeOpenAiApi.RecordedRequest request)
    {
        var last = request.LastInput;
        if (last.Contains("\"function_call_output\"", StringComparison.Ordinal)) return Reply.Text("Done.");
        if (last.Contains("GREET-BOB", StringComparison.Ordinal) && request.ToolNames.Contains("mcp__hive__send"))
            return Reply.FunctionCall("send", """{"to":"bob","body":"hello bob, from alice over codex"}""", "mcp__hive");
        if (last.Contains("LONG-COMMAND", StringComparison.Ordinal) && request.ToolNames.Contains("exec_command"))
            return Reply.FunctionCall("exec_command", """{"cmd":"touch started.txt && sleep 1000","yield_time_ms":1000}""");
        return Reply.Text("OK.");
    }

    [CodexAcpFact]
    public async Task A_codex_agent_calls_the_hives_tool_through_the_gateway_its_command_waits_for_the_operator_and_nothing_outlives_its_stop()
    {
        var row = await CreateAsync(_hive.Http, new { name = "alice", preset = "codex", driver = "bubblewrap", purpose = "greet and run commands" });
        Assert.Equal(("running", "sealed", "gateway"), (row.State(), row.GetProperty("network").GetString(), row.GetProperty("model_calls").GetString()));

        // A wake is a prompt; the model calls the hive's send tool (namespace mcp__hive) and bob gets the message.
        await _agent.SendAsync("GREET-BOB please");
        var received = await _agent.ReceivedByAsync("bob");
        Assert.Equal(("alice", "hello bob, from alice over codex"), (received.GetProperty("from").GetString(), received.GetProperty("body").GetString()));
        var greeted = await _agent.TurnAsync(1);
        Assert.True(greeted.ResultKind == "ok", $"{greeted.Note}\n{_agent.Log()}");
        var transcript = await _hive.GetAsync<TranscriptEntryView[]>($"/api/agents/alice/transcript?turn={greeted.Id}");
        Assert.Contains(transcript, e => e.Kind == "tool_use" && e.Tool == "mcp__hive__send");
        Assert.DoesNotContain(transcript, e => e.Text.Contains("Model metadata", StringComparison.Ordinal)); // a model Codex knows
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = 'hive'"));
        var asked = (await _hive.GetJsonAsync("/api/agents/alice/permissions")).EnumerateArray()
            .Select(p => (p.GetProperty("tool").GetString(), p.GetProperty("state").GetString(), p.GetProperty("decided_by").GetString())).ToList();
        Assert.All(asked, p => Assert.Equal(("mcp__hive__send", "allow", "hive"), p)); // if Codex asks for the hive's tool, the hive allows it

        // Its calls went through the gateway, with the key the hive holds, and were metered: the turn's tokens are theirs.
        var calls = _model.ModelRequests;
        Assert.True(calls.Count >= 2, string.Join("\n", calls));
        Assert.All(calls, c => Assert.True(c.IsResponses && c.KeyMatched && c.Model == "gpt-5.4-mini", c.ToString()));
        var output = Assert.Single(calls, c => c.FunctionCallOutputs.Count > 0).FunctionCallOutputs.Single();
        Assert.DoesNotContain("unsupported call", output, StringComparison.Ordinal);
        var metered = (await GatewayKit.CallsAsync(_hive)).Where(c => c.Agent == "alice").ToList();
        Assert.True(metered.Count >= 2 && metered.All(c => c.Provider == "openai" && c.InputTokens > 0 && c.OutputTokens > 0),
            string.Join("\n", metered));
        Assert.True(greeted.InputTokens > 0 && greeted.OutputTokens > 0, $"{greeted}");
        Assert.Equal((metered.Sum(c => c.InputTokens), metered.Sum(c => c.OutputTokens)), (greeted.InputTokens, greeted.OutputTokens));

        // A command asks: the operator's "Allow" lets it run; it is still running when the turn ends.
        await _agent.SendAsync("LONG-COMMAND please");
        var question = await _agent.QuestionAsync();
        Assert.Contains("sleep 1000", _agent.QuestionText(question));
        await _agent.AnswerAsync(question, "Allow");
        await _model.WaitForRequestAsync(r => r.LastInput.Contains("\"function_call_output\"", StringComparison.Ordinal) && r.FunctionCallOutputs.Count > 1,
            TimeSpan.FromSeconds(120));
        Assert.True((await _agent.TurnAsync(2)).ResultKind == "ok", _agent.Log());
        Assert.True(_agent.Made("started.txt"), _agent.Log());
        Assert.Contains(AgentProcesses("alice"), p => p.Command.Contains("sleep 1000", StringComparison.Ordinal));
        Assert.Contains(("execute", "allow", "operator"), (await _hive.GetJsonAsync("/api/agents/alice/permissions")).EnumerateArray()
            .Select(p => (p.GetProperty("kind").GetString(), p.GetProperty("state").GetString(), p.GetProperty("decided_by").GetString())));

        // Stopped, the agent leaves nothing behind: not the adapter, not its MCP server, not the command Codex left running.
        var (stopped, _) = await PostAsync(_hive.Http, "/api/agents/alice/stop");
        Assert.True((int)stopped is >= 200 and < 300, $"{stopped}");
        await HiveInstance.Until(() => AgentProcesses("alice").Count == 0, TimeSpan.FromSeconds(30),
            $"alice's processes to be gone: {string.Join("; ", AgentProcesses("alice").Select(p => $"{p.Pid} {p.Command}"))}");
    }
}
