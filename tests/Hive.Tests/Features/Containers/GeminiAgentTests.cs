using System.Security.Cryptography;
using Hive.Contracts.TurnStats;
using Hive.Tests.Features.Gateway;
using static Hive.Tests.Features.Containers.ContainersKit;
using Reply = Hive.Testing.FakeGeminiApi.Reply;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The real Gemini CLI (which speaks ACP itself) as a hive agent from the <c>gemini</c> preset, sealed under bubblewrap,
/// its model a scripted fake of Gemini's API reached through the hive's gateway (provider <c>gemini</c>, protocol
/// <c>gemini</c>). A wake's message reaches it as a prompt and its call of the hive's send tool (asked by the CLI, named
/// <c>send (hive MCP Server)</c>) is allowed by the hive without a question; a shell command waits for the operator, whose
/// "Allow" runs it; the gateway meters its calls; the preset's system prompt reaches the model; nothing outlives its stop.
/// </summary>
public sealed class GeminiAgentTests : IAsyncLifetime
{
    private readonly string _key = "AIza" + Convert.ToHexString(RandomNumberGenerator.GetBytes(18)).ToLowerInvariant();
    private FakeGeminiApi _model = null!;
    private HiveInstance _hive = null!;
    private AgentUnderTest _agent = null!;

    public async Task InitializeAsync()
    {
        if (InstalledCli.GeminiCli.Path is not { } program) return; // the test itself is skipped, saying why
        _model = await FakeGeminiApi.StartAsync(_key);
        _model.Decide = Decide;
        _hive = await HiveInstance.StartAsync(["bob"], ["--Hive:Presets:Gemini:Path", program, .. GatewayKit.GeminiProvider(_model.BaseUrl)]);
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/gemini", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        _agent = new AgentUnderTest(_hive, "gem", () => string.Join("\n", _model.ModelRequests.Select(r => $"{r}: {r.LastContent}")));
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    /// <summary>
    /// The model: a function's response ends the turn with a text; a wake asking to greet bob calls the hive's send tool, one
    /// asking to touch a file runs it through the CLI's shell tool (only on calls offering those tools); anything else is "OK.".
    /// </summary>
    private static Reply Decide(FakeGeminiApi.RecordedRequest request)
    {
        var last = request.LastContent;
        if (last.Contains("\"functionResponse\"", StringComparison.Ordinal)) return Reply.Text("Done.");
        if (last.Contains("GREET-BOB", StringComparison.Ordinal) && request.ToolNames.Contains("mcp_hive_send"))
            return Reply.FunctionCall("mcp_hive_send", """{"to":"bob","body":"hello bob, from gem over gemini"}""");
        if (last.Contains("TOUCH", StringComparison.Ordinal) && request.ToolNames.Contains("run_shell_command"))
            return Reply.FunctionCall("run_shell_command", """{"command":"touch touched-one.txt","description":"make the file"}""");
        return Reply.Text("OK.");
    }

    [GeminiFact]
    public async Task A_gemini_agent_calls_the_hives_tool_through_the_gateway_its_command_waits_for_the_operator_and_nothing_outlives_its_stop()
    {
        // Named for this class alone: its processes are looked for machine-wide, by the agent's name.
        var row = await CreateAsync(_hive.Http, new { name = "gem", preset = "gemini", driver = "bubblewrap", purpose = "greet and touch files" });
        Assert.Equal(("running", "sealed", "gateway"), (row.State(), row.GetProperty("network").GetString(), row.GetProperty("model_calls").GetString()));

        // A wake is a prompt; the CLI asks before calling the hive's send tool, the hive allows its own tool, and bob gets the message.
        await _agent.SendAsync("GREET-BOB please");
        var received = await _agent.ReceivedByAsync("bob");
        Assert.Equal(("gem", "hello bob, from gem over gemini"), (received.GetProperty("from").GetString(), received.GetProperty("body").GetString()));
        var greeted = await _agent.TurnAsync(1);
        Assert.True(greeted.ResultKind == "ok", $"{greeted.Note}\n{_agent.Log()}");
        var transcript = await _hive.GetAsync<TranscriptEntryView[]>($"/api/agents/gem/transcript?turn={greeted.Id}");
        Assert.Contains(transcript, e => e.Kind == "tool_use" && e.Tool == "mcp__hive__send");
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = 'hive'"));

        // Its calls went through the gateway, with the key the hive holds, and were metered; the preset's prompt reached the model.
        var calls = _model.ModelRequests;
        Assert.All(calls, c => Assert.True(c.KeyMatched && c.Model == "gemini-2.5-flash", c.ToString()));
        Assert.Contains(calls, c => c.Carries("You are gem, an agent in a hive"));
        var metered = (await GatewayKit.CallsAsync(_hive)).Where(c => c.Agent == "gem").ToList();
        Assert.True(metered.Count >= 2 && metered.All(c => c.Provider == "gemini" && c.InputTokens > 0 && c.OutputTokens > 0), string.Join("\n", metered));
        Assert.True(greeted.InputTokens > 0 && greeted.OutputTokens > 0, $"{greeted}");

        // A shell command asks: the operator's "Allow" runs it.
        await _agent.SendAsync("TOUCH please");
        var question = await _agent.QuestionAsync();
        Assert.Contains("touch touched-one.txt", _agent.QuestionText(question));
        await _agent.AnswerAsync(question, "Allow");
        Assert.True((await _agent.TurnAsync(2)).ResultKind == "ok", _agent.Log());
        Assert.True(_agent.Made("touched-one.txt"), _agent.Log());

        // Stopped, the agent leaves nothing behind: not the CLI, not its MCP server.
        var (stopped, _) = await PostAsync(_hive.Http, "/api/agents/gem/stop");
        Assert.True((int)stopped is >= 200 and < 300, $"{stopped}");
        await HiveInstance.Until(() => AgentProcesses("gem").Count == 0, TimeSpan.FromSeconds(30),
            $"gem's processes to be gone: {string.Join("; ", AgentProcesses("gem").Select(p => $"{p.Pid} {p.Command}"))}");
    }
}
