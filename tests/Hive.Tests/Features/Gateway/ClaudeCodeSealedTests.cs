using System.Net;
using static Hive.Tests.Features.Containers.ContainersKit;
using ModelReply = Hive.Testing.FakeMessagesApi.ModelReply;

namespace Hive.Tests.Features.Gateway;

/// <summary>
/// A sealed sandbox (ADR 0001) with the real Claude Code: the claude-code preset, sealed under bubblewrap (a network namespace with its own
/// loopback alone), completes a turn through the hive's gateway (the fake Messages API is its anthropic provider), its
/// <c>hivectl mcp</c> tool included. Its <c>HTTPS_PROXY</c> is the hive's egress proxy and <c>NO_PROXY</c> the loopback, as
/// <c>hivectl port --proxy</c> sets them, with no egress allowed: a call sent to the proxy instead of the gateway's port on
/// 127.0.0.1, or any other connection Claude Code tries, would be refused and on the agent's record, which stays empty.
/// </summary>
public sealed class ClaudeCodeSealedTests : IAsyncLifetime
{
    private readonly string _key = GatewayKit.NewKey();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        if (ClaudeCode.Path is not { } claude) return; // the test itself is skipped, saying why
        _model = await FakeMessagesApi.StartAsync(_key);
        _hive = await HiveInstance.StartAsync([], "--Hive:Presets:ClaudeCode:Path", claude,
            "--Hive:Gateway:Providers:anthropic:Upstream", _model.BaseUrl, "--Hive:Governance:LoopTurns", "0");
        using (var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key }))
            Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    [ClaudeCodeFact]
    public async Task A_sealed_claude_code_completes_a_turn_through_the_gateway_and_tries_no_other_connection()
    {
        _model.Enqueue(ModelReply.ToolUse("mcp__hive__whoami", "{}"));
        _model.Enqueue(ModelReply.Text("I am sealed-claude."));
        var row = await CreateAsync(_hive.Http, new
        {
            name = "sealed-claude", preset = "claude-code", driver = "bubblewrap", purpose = "answer", network = "sealed", egress = Array.Empty<string>(),
        });
        Assert.Equal("running", row.State());
        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "sealed-claude", body = "who are you?" }))
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);

        // The tool's result came back in the second call: the hive socket worked from inside, and both calls went through the gateway.
        await _model.WaitForRequestAsync(r => r.IsMessages && r.ToolResults.Any(t => t.GetRawText().Contains("sealed-claude", StringComparison.Ordinal)), TimeSpan.FromSeconds(120));
        await HiveInstance.Until(() => GatewayKit.CallsAsync(_hive).GetAwaiter().GetResult().Count(c => c.Agent == "sealed-claude" && c.State == "complete") >= 2,
            TimeSpan.FromSeconds(120), "both calls to be metered");
        var log = await File.ReadAllTextAsync(Path.Combine(_hive.DataDir, "agents", "sealed-claude", "logs", "output.log"));
        Assert.Contains(", sealed:", log);
        Assert.NotNull(_hive.Service<Hive.Shared.Egress.IAgentEgress>().For("sealed-claude")); // it had a proxy to try
        Assert.Empty((await _hive.Http.GetFromJsonAsync<JsonElement>("/api/agents/sealed-claude/net")).EnumerateArray());
        await DestroyAsync(_hive, "sealed-claude");
    }
}
