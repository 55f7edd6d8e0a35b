using System.Net;
using static Hive.Tests.Features.Containers.ContainersKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// A budget stops spend before it happens, with the real Claude Code (the claude-code preset under bubblewrap; the fake
/// Messages API is the hive's anthropic provider): with $0.01 a day and calls of $0.008 each, the agent's second call is
/// refused at the door and never reaches the provider, Claude Code ends its turn with the gateway's sentence in its
/// result (a 403 is not retried; 2.1.328 retried a 400 twice), the operator gets exactly one question, and "raise" lets the next call through.
/// The turn's cost is metered: the provider's usage at the configured price.
/// </summary>
public sealed class ClaudeCodeBudgetTests : IAsyncLifetime
{
    private readonly string _key = GatewayKit.NewKey();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        if (ClaudeCode.Path is not { } claude) return; // the test itself is skipped, saying why
        _model = await FakeMessagesApi.StartAsync(_key);
        // Every call: 8,000 input tokens at $1 per million = $0.008, whatever the model Claude Code asks for.
        _model.DefaultReply = ModelReply.Text("OK.", new FakeMessagesApi.Usage(8000, 0));
        _hive = await HiveInstance.StartAsync([], "--Hive:Presets:ClaudeCode:Path", claude,
            "--Hive:Gateway:Providers:anthropic:Upstream", _model.BaseUrl,
            "--Hive:Gateway:Providers:anthropic:Prices:*:InputPerMtok", "1",
            "--Hive:Governance:LoopTurns", "0");
        using (var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key }))
            Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    [ClaudeCodeFact]
    public async Task The_call_that_would_cross_the_budget_is_refused_before_the_provider_and_the_turn_ends_with_why()
    {
        _model.Enqueue(ModelReply.ToolUse("mcp__hive__whoami", "{}", usage: new FakeMessagesApi.Usage(8000, 0)));
        var row = await CreateAsync(_hive.Http, new { name = "alice", preset = "claude-code", driver = "bubblewrap", purpose = "answer" });
        Assert.Equal("running", row.State());
        using (var budget = await _hive.Http.PutAsJsonAsync("/api/governance/budgets/alice", new { daily_usd = 0.01 }))
            budget.EnsureSuccessStatusCode();
        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "who are you?" }))
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);

        // The first call reaches the provider and costs $0.008; the second (with the tool's result) would cross $0.01.
        var turn = await TurnAsync();
        Assert.Single(_model.MessagesRequests);
        var calls = await GatewayKit.CallsAsync(_hive);
        Assert.Equal(["complete", "refused"], calls.Where(c => c.Agent == "alice").Select(c => c.State));
        Assert.Equal(403L, calls.Single(c => c.State == "refused").Status); // not retried: one refusal, not a loop
        var transcript = (await _hive.GetJsonAsync($"/api/agents/alice/transcript?turn={turn.GetProperty("id").GetInt64()}")).GetRawText();
        Assert.Contains("hive: alice would go over its daily budget ($0.008 of $0.01)", transcript);
        Assert.Equal("metered", turn.GetProperty("cost_source").GetString());
        Assert.Equal(0.008, turn.GetProperty("cost_usd").GetDouble(), 9);

        var question = Assert.Single(_hive.QueryDbList<(long Id, string Options)>(
            "SELECT id, options FROM questions WHERE asker = 'hive' AND answered_at IS NULL AND question LIKE 'alice%'"));
        var raise = JsonSerializer.Deserialize<string[]>(question.Options)!.First(o => o.StartsWith("raise", StringComparison.Ordinal));
        using (var answer = await _hive.Http.PostAsJsonAsync($"/api/questions/{question.Id}/answer", new { answer = raise })) answer.EnsureSuccessStatusCode();

        // Raised: the next turn's call goes through to the provider.
        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "and now?" }))
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        await _model.WaitForRequestAsync(r => r.IsMessages && r.Mentions("and now?"), TimeSpan.FromSeconds(120));
        await DestroyAsync(_hive, "alice");
    }

    private async Task<JsonElement> TurnAsync()
    {
        JsonElement turn = default;
        await HiveInstance.Until(() =>
        {
            var turns = _hive.GetJsonAsync("/api/agents/alice/turns").GetAwaiter().GetResult();
            var list = turns.ValueKind == JsonValueKind.Array ? turns : turns.GetProperty("turns");
            if (list.GetArrayLength() == 0) return false;
            turn = list[0].Clone();
            return true;
        }, TimeSpan.FromSeconds(120), "alice's turn to be recorded");
        return turn;
    }
}
