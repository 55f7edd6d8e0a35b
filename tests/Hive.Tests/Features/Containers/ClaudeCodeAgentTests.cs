using System.Security.Cryptography;
using static Hive.Tests.Features.Containers.ContainersKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The real Claude Code as a hive agent, end to end: made from the <c>claude-code</c> preset under bubblewrap, its key from
/// the secrets store, its model a scripted fake of the Messages API over real HTTP (the provider cannot be reached here).
/// The operator writes to it; the model is asked with the message and the hive's tools, answers with a call of the hive's
/// send tool to bob, and bob receives it; the turn is recorded; the next turn starts afresh; the key is nowhere but in its
/// secret's file. And the manager, made from the same preset and run by Hive, spawns an agent through an approval.
/// </summary>
public sealed class ClaudeCodeAgentTests : IAsyncLifetime
{
    private readonly string _key = "sk-ant-api03-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        if (ClaudeCode.Path is not { } claude) return; // the test itself is skipped, saying why
        _model = await FakeMessagesApi.StartAsync(_key);
        _hive = await HiveInstance.StartAsync(["bob"], ["--Hive:Presets:ClaudeCode:Path", claude,
            .. Hive.Tests.Features.Gateway.GatewayKit.Provider(_model.BaseUrl, "--Hive:Gateway:Providers:anthropic:Prices:*:InputPerMtok", "3",
                "--Hive:Gateway:Providers:anthropic:Prices:*:OutputPerMtok", "15")]);
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    /// <summary>The preset's agent as it ships: its model calls go through the hive's gateway, whose provider is the fake.</summary>
    private static object Agent(string name, string purpose) => new { name, preset = "claude-code", driver = "bubblewrap", purpose };

    [ClaudeCodeFact]
    public async Task A_claude_code_agent_from_the_preset_reads_its_message_and_sends_to_bob_with_the_hives_tool()
    {
        await using var events = await _hive.OpenEventsAsync();
        var seen = new List<string>();
        var collecting = Task.Run(async () =>
        {
            while (await events.NextAsync(TimeSpan.FromMinutes(5)) is { } e) lock (seen) seen.Add(e.Data);
        });

        for (var i = 0; i < 10; i++)
            _model.Enqueue(request =>
                request.ToolResults.Count > 0 ? ModelReply.Text("Done: I greeted bob.")
                : request.Mentions("please greet bob") && request.ToolNames.Contains("mcp__hive__send")
                    ? ModelReply.ToolUse("mcp__hive__send", """{"to":"bob","body":"hello bob, from alice"}""")
                    : ModelReply.Text("OK."));

        var row = await CreateAsync(_hive.Http, Agent("alice", "greet whoever the operator names"));
        Assert.Equal("running", row.State());
        Assert.Equal("gateway", row.GetProperty("model_calls").GetString());

        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "please greet bob" }))
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);

        // The model is asked with the message and the hive's tools, by the key from the secrets store.
        var asked = await _model.WaitForRequestAsync(r => r.IsMessages && r.Mentions("please greet bob") && r.ToolNames.Contains("mcp__hive__send"),
            TimeSpan.FromSeconds(90));
        Assert.True(asked.ApiKeyMatched);

        // No process of alice's holds the key in its environment; they hold the placeholder, worth nothing outside.
        var environs = AgentEnvirons("alice");
        Assert.NotEmpty(environs);
        Assert.DoesNotContain(environs, e => e.Contains(_key, StringComparison.Ordinal));
        Assert.Contains(environs, e => e.Contains("ANTHROPIC_API_KEY=hive-", StringComparison.Ordinal));
        Assert.Contains("mcp__hive__ask", asked.ToolNames);
        Assert.Contains("You are alice, an agent in a hive", asked.Body!.Value.GetProperty("system").GetRawText()); // the preset's system prompt

        // Its tool call reached the hive: bob receives the message from alice.
        await using (var bob = await _hive.ConnectAsync("bob"))
        {
            var received = await bob.RecvAndAckAsync(30_000) ?? await bob.RecvAndAckAsync(30_000) ?? throw new TimeoutException("bob got nothing from alice");
            Assert.Equal("alice", received.GetProperty("from").GetString());
            Assert.Equal("hello bob, from alice", received.GetProperty("body").GetString());
        }
        await _model.WaitForRequestAsync(r => r.IsMessages && r.ToolResults.Count > 0, TimeSpan.FromSeconds(60));

        // The turn is recorded with the model, its tokens and its cost, and the operator's message acknowledged.
        JsonElement turn = default;
        await HiveInstance.Until(() =>
        {
            var turns = _hive.GetJsonAsync("/api/agents/alice/turns").GetAwaiter().GetResult();
            var list = turns.ValueKind == JsonValueKind.Array ? turns : turns.GetProperty("turns");
            if (list.GetArrayLength() == 0) return false;
            turn = list[0].Clone();
            return true;
        }, TimeSpan.FromSeconds(60), "alice's turn to be recorded");
        Assert.Equal("ok", turn.GetProperty("result_kind").GetString());
        Assert.Equal(asked.Model, turn.GetProperty("model").GetString());
        Assert.True(turn.GetProperty("input_tokens").GetInt64() > 0);
        Assert.True(turn.GetProperty("output_tokens").GetInt64() > 0);
        // Its cost is metered: the provider's own usage of each of the turn's calls, at the configured price ($3 / $15 per Mtok).
        Assert.Equal("metered", turn.GetProperty("cost_source").GetString());
        var expected = _model.MessagesRequests.Select(r => r.Reply).OfType<FakeMessagesApi.MessageReply>()
            .Sum(r => (r.Usage.InputTokens * 3.0 + r.Usage.OutputTokens * 15.0) / 1_000_000);
        Assert.True(expected > 0);
        Assert.Equal(expected, turn.GetProperty("cost_usd").GetDouble(), 9);
        var turnCalls = (await _hive.GetJsonAsync($"/api/agents/alice/calls?turn={turn.GetProperty("granted_turn_id").GetInt64()}")).GetArrayLength();
        Assert.Equal(_model.MessagesRequests.Count, turnCalls);
        Assert.Equal(1, turn.GetProperty("tools").GetProperty("mcp__hive__send").GetInt64());

        // The next turn resumes the conversation (the preset runs `hivectl run --claude`, which passes
        // --resume with the session the first turn named, kept on the hive).
        var session = (await _hive.GetJsonAsync("/api/agents/alice/conversation")).GetProperty("session_id").GetString();
        Assert.False(string.IsNullOrEmpty(session));
        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "a second, unrelated message" }))
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        var second = await _model.WaitForRequestAsync(r => r.IsMessages && r.Mentions("a second, unrelated message"), TimeSpan.FromSeconds(90));
        Assert.True(second.Mentions("please greet bob"));

        // The key: in its secret's file and nowhere else.
        var secretFile = Path.Combine(_hive.DataDir, "secrets", "anthropic");
        foreach (var file in Directory.EnumerateFiles(_hive.DataDir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            // hive.lock is held locked by the host (and holds nothing); sockets are not files.
            if (file == secretFile || new FileInfo(file).LinkTarget is not null || file.EndsWith(".sock", StringComparison.Ordinal)
                || file == Path.Combine(_hive.DataDir, "hive.lock")) continue;
            var info = new FileInfo(file);
            if (!info.Exists || info.Length > 64 * 1024 * 1024) continue;
            Assert.False(Holds(file, _key), $"{file} holds the key");
        }
        // Every call went upstream with the real key (the placeholder never reached the provider), and was metered.
        Assert.All(_model.MessagesRequests, r => Assert.True(r.ApiKeyMatched));
        // The second turn's call may still be passing to alice: its row is written once it ends.
        var calls = await Hive.Tests.Features.Gateway.GatewayKit.CallsAsync(_hive);
        await HiveInstance.Until(() =>
        {
            calls = Hive.Tests.Features.Gateway.GatewayKit.CallsAsync(_hive).GetAwaiter().GetResult();
            return calls.Count(c => c.Agent == "alice" && c.State != "open") == _model.MessagesRequests.Count;
        }, TimeSpan.FromSeconds(60), "every call of alice's to be recorded");
        Assert.All(calls.Where(c => c.Agent == "alice"), c => Assert.Equal(("complete", 200L), (c.State, c.Status!.Value)));
        Assert.DoesNotContain(_key, await _hive.Http.GetStringAsync("/api/state"));
        Assert.DoesNotContain(_key, await _hive.Http.GetStringAsync("/api/approvals?status=all"));
        Assert.DoesNotContain(_key, await _hive.Http.GetStringAsync("/api/agents/alice/logs?tail=10000"));
        Assert.DoesNotContain(_hive.Logs.Lines, l => l.Text.Contains(_key, StringComparison.Ordinal));
        lock (seen) Assert.DoesNotContain(seen, e => e.Contains(_key, StringComparison.Ordinal));
        await DestroyAsync(_hive, "alice");
    }

    /// <summary>The environment of every process that runs as <paramref name="agent"/> (its harness, its model client, its tools).</summary>
    private static List<string> AgentEnvirons(string agent)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ")).Replace('\0', '\n');
                if (environ.Contains($"HIVE_AGENT={agent}\n", StringComparison.Ordinal)) found.Add(environ);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile
            }
        }
        return found;
    }

    /// <summary>Whether the file's bytes hold <paramref name="text"/> (read beside whoever has it open: the database, the lock).</summary>
    private static bool Holds(string file, string text)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.GetBuffer().AsSpan(0, (int)copy.Length).IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;
    }

    [ClaudeCodeFact]
    public async Task The_manager_run_by_hive_from_the_preset_spawns_an_agent_through_an_approval()
    {
        for (var i = 0; i < 10; i++)
            _model.Enqueue(request =>
                request.ToolResults.Count > 0 ? ModelReply.Text("Asked the operator.")
                : request.Mentions("we need a tester") && request.ToolNames.Contains("mcp__hive__request_spawn")
                    ? ModelReply.ToolUse("mcp__hive__request_spawn", """{"name":"tester","preset":"claude-code","purpose":"test what the coders write"}""")
                    : ModelReply.Text("OK."));

        var manager = await CreateAsync(_hive.Http, Agent("manager", "run the hive"));
        Assert.Equal("manager", manager.GetProperty("kind").GetString());
        Assert.Equal("bubblewrap", manager.GetProperty("driver").GetString());
        Assert.Equal("running", manager.State());

        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "manager", body = "we need a tester" }))
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        var asked = await _model.WaitForRequestAsync(r => r.IsMessages && r.Mentions("we need a tester") && r.ToolNames.Contains("mcp__hive__request_spawn"),
            TimeSpan.FromSeconds(90));
        Assert.Contains("mcp__hive__list_agents", asked.ToolNames);

        JsonElement approval = default;
        await HiveInstance.Until(() =>
        {
            var pending = _hive.GetJsonAsync("/api/approvals").GetAwaiter().GetResult();
            var spawn = pending.EnumerateArray().Where(a => a.GetProperty("agent").GetString() == "tester").ToList();
            if (spawn.Count == 0) return false;
            approval = spawn[0].Clone();
            return true;
        }, TimeSpan.FromSeconds(60), "the manager's spawn request");
        Assert.Equal("manager", approval.GetProperty("requester").GetString());
        Assert.Equal("spawn", approval.GetProperty("kind").GetString());
        Assert.False(approval.GetProperty("payload").TryGetProperty("secrets", out var secrets) && secrets.ValueKind == JsonValueKind.Object
            && secrets.EnumerateObject().Any(), "the preset gives no secret to the sandbox: the gateway holds the key");

        var (status, _) = await PostAsync(_hive.Http, $"/api/approvals/{approval.GetProperty("id").GetInt64()}/approve");
        Assert.Equal(HttpStatusCode.OK, status);
        await HiveInstance.Until(() => RowAsync(_hive, "tester").GetAwaiter().GetResult() is { } r && r.State() == "running",
            TimeSpan.FromSeconds(60), "the approved tester to run");
        await DestroyAsync(_hive, "tester");
    }
}
