using System.Net;
using static Hive.Tests.Features.Containers.ContainersKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// A provider chain with the real Claude Code (the claude-code preset under bubblewrap): two fake Messages APIs are the
/// hive's <c>anthropic</c> and <c>local</c> providers, and alice runs on <c>["anthropic", "local"]</c> with local mapped to
/// <c>local-coder</c>. Anthropic's 429 names a reset ten minutes ahead (its rate-limit headers, as the real API sends them).
/// </summary>
public sealed class ProviderChainTests : IAsyncLifetime
{
    private const string LocalModel = "local-coder";
    private readonly string _anthropicKey = GatewayKit.NewKey();
    private readonly string _localKey = GatewayKit.NewKey();
    private FakeMessagesApi _anthropic = null!;
    private FakeMessagesApi _local = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        if (ClaudeCode.Path is not { } claude) return; // the test itself is skipped, saying why
        _anthropic = await FakeMessagesApi.StartAsync(_anthropicKey);
        _anthropic.DefaultReply = ModelReply.Text("Answered on anthropic.");
        _local = await FakeMessagesApi.StartAsync(_localKey);
        _local.DefaultReply = ModelReply.Text("Answered on local.");
        _hive = await HiveInstance.StartAsync([], "--Hive:Presets:ClaudeCode:Path", claude,
            "--Hive:Gateway:Providers:anthropic:Upstream", _anthropic.BaseUrl,
            "--Hive:Gateway:Providers:local:Protocol", "anthropic",
            "--Hive:Gateway:Providers:local:Upstream", _local.BaseUrl,
            "--Hive:Gateway:Providers:local:KeySecret", "local",
            "--Hive:Governance:LoopTurns", "0");
        foreach (var (secret, value) in new[] { ("anthropic", _anthropicKey), ("local", _localKey) })
            using (var saved = await _hive.Http.PutAsJsonAsync($"/api/secrets/{secret}", new { value }))
                Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        var row = await CreateAsync(_hive.Http, new
        {
            name = "alice", preset = "claude-code", driver = "bubblewrap", purpose = "answer",
            providers = new[] { "anthropic", "local" }, models = new Dictionary<string, string> { ["local"] = LocalModel },
        });
        Assert.Equal("running", row.State());
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null)
        {
            await DestroyAsync(_hive, "alice");
            await _hive.DisposeAsync();
        }
        if (_anthropic is not null) await _anthropic.DisposeAsync();
        if (_local is not null) await _local.DisposeAsync();
    }

    [ClaudeCodeFact]
    public async Task A_429_moves_the_agents_turns_to_the_next_provider_with_its_model_and_they_return_when_the_circuit_closes()
    {
        _anthropic.Enqueue(RateLimited());

        // The turn's first call met the limit before anything happened in the turn: it moved to local, with local's model.
        var turn = await TurnOnAsync("what is two and two?");
        var first = await _local.WaitForRequestAsync(r => r.IsMessages && r.Mentions("what is two and two?"), TimeSpan.FromSeconds(120));
        Assert.Equal(LocalModel, first.Model);
        await TurnRecordedAsync(turn);
        var row = await RowAsync(_hive, "alice");
        Assert.Equal("local", row!.Value.GetProperty("provider_now").GetProperty("provider").GetString());
        Assert.Contains("anthropic is at its usage or rate limit until", row.Value.GetProperty("provider_now").GetProperty("reason").GetString());
        var moved = Assert.Single(await SwitchesAsync());
        Assert.Contains("\"provider\":\"anthropic\"", moved.GetProperty("before").GetRawText().Replace(" ", ""));
        Assert.Contains("\"provider\":\"local\"", moved.GetProperty("after").GetRawText().Replace(" ", ""));

        // The next turn runs on local from its start: no second switch.
        turn = await TurnOnAsync("and three and three?");
        var second = await _local.WaitForRequestAsync(r => r.IsMessages && r.Mentions("and three and three?"), TimeSpan.FromSeconds(120));
        Assert.Equal(LocalModel, second.Model);
        Assert.DoesNotContain(_anthropic.MessagesRequests, r => r.Mentions("and three and three?"));
        await TurnRecordedAsync(turn);
        Assert.Single(await SwitchesAsync());

        // The circuit closes (the operator clears it): the next turn is on anthropic again, a fresh conversation with a brief
        // first, and nothing the local model wrote is in it as the model's own.
        using (var cleared = await _hive.Http.DeleteAsync("/api/governance/circuits/anthropic")) Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        await TurnOnAsync("and four and four?");
        var back = await _anthropic.WaitForRequestAsync(r => r.IsMessages && r.Mentions("and four and four?"), TimeSpan.FromSeconds(120));
        Assert.True(back.Mentions("Handoff from the hive"), back.ToString());
        Assert.DoesNotContain(back.Messages, m => m.GetProperty("role").GetString() == "assistant");
        Assert.NotEqual(LocalModel, back.Model);
        await HiveInstance.UntilAsync(async () => (await SwitchesAsync()).Count == 2, TimeSpan.FromSeconds(30), "the switch back");
        row = await RowAsync(_hive, "alice");
        Assert.Equal("anthropic", row!.Value.GetProperty("provider_now").GetProperty("provider").GetString());
    }

    [ClaudeCodeFact]
    public async Task A_429_after_a_tool_call_ends_the_turn_and_the_next_starts_on_the_next_provider_with_a_brief_not_the_conversation()
    {
        var toolUse = ModelReply.ToolUse("mcp__hive__whoami", "{}");
        _anthropic.Enqueue(toolUse, RateLimited());

        // The first call's tool ran (whoami answered); the second call, carrying its result, met the limit: the turn ends there.
        var turn = await TurnOnAsync("who are you?");
        var carried = await _anthropic.WaitForRequestAsync(r => r.IsMessages && r.ToolResults.Count > 0, TimeSpan.FromSeconds(120));
        Assert.Contains(carried.ToolUses, t => t.GetProperty("id").GetString() == toolUse.ToolUseId);
        await TurnRecordedAsync(turn);
        var calls = (await GatewayKit.CallsAsync(_hive)).Where(c => c.Agent == "alice").ToList();
        Assert.Contains(calls, c => c.State == "refused" && c.Status == 403); // the retry: not sent, and not retried itself
        Assert.DoesNotContain(_local.MessagesRequests, r => r.Mentions("who are you?") && !r.Mentions("Handoff from the hive"));

        // The next turn starts on local, in a fresh conversation whose first words are the brief naming the tool call.
        await TurnOnAsync("and now?");
        var handed = await _local.WaitForRequestAsync(r => r.IsMessages && r.Mentions("Handoff from the hive"), TimeSpan.FromSeconds(120));
        Assert.True(handed.Mentions("mcp__hive__whoami"), handed.ToString());
        Assert.Equal(LocalModel, handed.Model);
        // Anthropic's conversation is not sent to local: not its tool call, not its result, nothing as the model's own words.
        Assert.All(_local.MessagesRequests, r =>
        {
            Assert.DoesNotContain(r.ToolUses, t => t.GetProperty("id").GetString() == toolUse.ToolUseId);
            Assert.DoesNotContain(r.ToolResults, t => t.GetProperty("tool_use_id").GetString() == toolUse.ToolUseId);
        });
        Assert.DoesNotContain(handed.Messages, m => m.GetProperty("role").GetString() == "assistant");
        var moved = Assert.Single(await SwitchesAsync());
        Assert.Contains("anthropic is at its usage or rate limit until", moved.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_chain_naming_an_unknown_provider_or_missing_a_model_mapping_is_refused_and_nothing_is_made()
    {
        await using var hive = await HiveInstance.StartAsync([], "--Hive:Gateway:Providers:local:Protocol", "anthropic",
            "--Hive:Gateway:Providers:local:Upstream", "http://127.0.0.1:9", "--Hive:Gateway:Providers:oai:Protocol", "openai",
            "--Hive:Gateway:Providers:oai:Upstream", "http://127.0.0.1:9");
        (object Chain, string Says)[] cases =
        [
            (new { providers = new[] { "anthropic", "nowhere" }, models = new Dictionary<string, string> { ["nowhere"] = "m" } },
                "providers: nowhere is not a provider the gateway serves"),
            (new { providers = new[] { "anthropic", "local" } }, "models has no model for local"),
            (new { providers = new[] { "anthropic", "oai" }, models = new Dictionary<string, string> { ["oai"] = "gpt" } },
                "oai speaks openai but anthropic speaks anthropic"),
            (new { provider = "local", providers = new[] { "anthropic", "local" }, models = new Dictionary<string, string> { ["local"] = "m" } },
                "the first of providers is the agent's provider"),
            (new { providers = new[] { "anthropic", "local" }, models = new Dictionary<string, string> { ["local"] = "m", ["oai"] = "gpt" } },
                "models maps oai, which is not in providers"),
        ];
        foreach (var (chain, says) in cases)
        {
            var body = System.Text.Json.JsonSerializer.SerializeToNode(chain)!.AsObject();
            body["name"] = "chained";
            body["command"] = new System.Text.Json.Nodes.JsonArray("/bin/sleep", "1000");
            body["driver"] = "process";
            var (status, problem) = await PostAsync(hive.Http, "/api/agents", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(says, Problem.Of(problem).Detail);
        }
        using var agents = await hive.Http.GetAsync("/api/agents/chained");
        Assert.Equal(HttpStatusCode.NotFound, agents.StatusCode);
    }

    private static ModelReply RateLimited() => ModelReply.Error(429, "rate_limit_error", "Number of requests has exceeded your rate limit",
        new Dictionary<string, string>
        {
            ["anthropic-ratelimit-requests-remaining"] = "0",
            ["anthropic-ratelimit-requests-reset"] = DateTimeOffset.UtcNow.AddMinutes(10).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        });

    /// <summary>Sends alice a message and answers how many turns she had recorded before it.</summary>
    private async Task<int> TurnOnAsync(string body)
    {
        var before = (await TurnsAsync()).GetArrayLength();
        using var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body });
        Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        return before;
    }

    private async Task TurnRecordedAsync(int before) =>
        await HiveInstance.UntilAsync(async () => (await TurnsAsync()).GetArrayLength() > before, TimeSpan.FromSeconds(120), "alice's turn to be recorded");

    private async Task<JsonElement> TurnsAsync()
    {
        var turns = await _hive.GetJsonAsync("/api/agents/alice/turns");
        return turns.ValueKind == JsonValueKind.Array ? turns : turns.GetProperty("turns");
    }

    private async Task<List<JsonElement>> SwitchesAsync()
    {
        var all = await _hive.GetJsonAsync("/api/interventions");
        var list = all.ValueKind == JsonValueKind.Array ? all : all.GetProperty("interventions");
        return list.EnumerateArray().Where(i => i.GetProperty("action").GetString() == "provider_switch" && i.GetProperty("target").GetString() == "alice")
            .Select(i => i.Clone()).ToList();
    }
}
