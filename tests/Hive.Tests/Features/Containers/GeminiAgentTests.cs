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

    public async Task InitializeAsync()
    {
        if (InstalledCli.GeminiCli.Path is not { } program) return; // the test itself is skipped, saying why
        _model = await FakeGeminiApi.StartAsync(_key);
        _model.Decide = Decide;
        _hive = await HiveInstance.StartAsync(["bob"], ["--Hive:Presets:Gemini:Path", program, .. GatewayKit.GeminiProvider(_model.BaseUrl)]);
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/gemini", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
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

    private async Task SendAsync(string body)
    {
        using var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "gem", body });
        Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
    }

    private async Task<TurnView> TurnAsync(int count)
    {
        TurnView[] turns = [];
        await HiveInstance.Until(() => (turns = _hive.GetAsync<TurnView[]>("/api/agents/gem/turns").GetAwaiter().GetResult()).Length >= count,
            TimeSpan.FromSeconds(180), $"gem's turn {count}\n{AgentLog()}");
        return turns[0];
    }

    private string AgentLog() => _hive.Http.GetStringAsync("/api/agents/gem/logs?tail=80").GetAwaiter().GetResult()
        + "\n" + string.Join("\n", _model.ModelRequests.Select(r => $"{r}: {r.LastContent}"));

    [GeminiFact]
    public async Task A_gemini_agent_calls_the_hives_tool_through_the_gateway_its_command_waits_for_the_operator_and_nothing_outlives_its_stop()
    {
        // Named for this class alone: its processes are looked for machine-wide, by the agent's name.
        var row = await CreateAsync(_hive.Http, new { name = "gem", preset = "gemini", driver = "bubblewrap", purpose = "greet and touch files" });
        Assert.Equal(("running", "sealed", "gateway"), (row.State(), row.GetProperty("network").GetString(), row.GetProperty("model_calls").GetString()));

        // A wake is a prompt; the CLI asks before calling the hive's send tool, the hive allows its own tool, and bob gets the message.
        await SendAsync("GREET-BOB please");
        await using (var bob = await _hive.ConnectAsync("bob"))
        {
            JsonElement? got = null;
            for (var i = 0; i < 6 && got is null; i++) got = await bob.RecvAndAckAsync(30_000);
            var received = got ?? throw new TimeoutException($"bob got nothing in 3 minutes\n{AgentLog()}");
            Assert.Equal(("gem", "hello bob, from gem over gemini"), (received.GetProperty("from").GetString(), received.GetProperty("body").GetString()));
        }
        var greeted = await TurnAsync(1);
        Assert.True(greeted.ResultKind == "ok", $"{greeted.Note}\n{AgentLog()}");
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
        await SendAsync("TOUCH please");
        long question = 0;
        await HiveInstance.Until(() => (question = _hive.QueryDb<long>("SELECT coalesce(max(id), 0) FROM questions WHERE asker = 'hive' AND answered_at IS NULL")) > 0,
            TimeSpan.FromSeconds(180), $"gem's permission question\n{AgentLog()}");
        Assert.Contains("touch touched-one.txt", _hive.QueryDb<string>("SELECT question FROM questions WHERE id = @question", new { question }));
        using (var answered = await _hive.Http.PostAsJsonAsync($"/api/questions/{question}/answer", new { answer = "Allow" }))
            Assert.True(answered.IsSuccessStatusCode, await answered.Content.ReadAsStringAsync());
        Assert.True((await TurnAsync(2)).ResultKind == "ok", AgentLog());
        Assert.True(Directory.EnumerateFiles(_hive.DataDir, "touched-one.txt", SearchOption.AllDirectories).Any(), AgentLog());

        // Stopped, the agent leaves nothing behind: not the CLI, not its MCP server.
        var (stopped, _) = await PostAsync(_hive.Http, "/api/agents/gem/stop");
        Assert.True((int)stopped is >= 200 and < 300, $"{stopped}");
        await HiveInstance.Until(() => AgentProcesses("gem").Count == 0, TimeSpan.FromSeconds(30),
            $"gem's processes to be gone: {string.Join("; ", AgentProcesses("gem").Select(p => $"{p.Pid} {p.Command}"))}");
    }
}
