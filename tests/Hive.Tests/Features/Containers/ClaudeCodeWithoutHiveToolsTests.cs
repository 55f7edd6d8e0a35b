using System.Security.Cryptography;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The real Claude Code run by <c>hivectl run --claude</c> whose hive MCP server does not connect (its
/// command never answers <c>initialize</c>, and <c>MCP_TIMEOUT</c> is short) goes on without the hive's tools. The harness
/// reads the init line's <c>mcp_servers</c>, stops it, records the turn failed with the reason and leaves the message
/// unacknowledged, so it comes back flagged redelivered; no turn is recorded ok.
/// </summary>
public sealed class ClaudeCodeWithoutHiveToolsTests : IAsyncLifetime
{
    private readonly string _key = "sk-ant-api03-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        if (ClaudeCode.Path is null) return; // the test itself is skipped, saying why
        _model = await FakeMessagesApi.StartAsync(_key);
        // A short ack timeout: the unacknowledged message comes back within the test.
        _hive = await HiveInstance.StartAsync([], "--Hive:Messages:AckTimeoutSeconds", "4");
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    [ClaudeCodeFact]
    public async Task A_turn_whose_hive_mcp_server_never_connects_is_failed_and_its_message_comes_back()
    {
        // The preset's command line, but the hive's MCP server is a command that never answers.
        const string hangingServer = """{"mcpServers":{"hive":{"type":"stdio","command":"sleep","args":["600"]}}}""";
        await CreateAsync(_hive.Http, new
        {
            name = "alice", driver = "process",
            command = new[]
            {
                "hivectl", "run", "--claude", "--", ClaudeCode.Path!, "-p", "Handle the messages on stdin.",
                "--output-format", "stream-json", "--verbose", "--mcp-config", hangingServer, "--strict-mcp-config",
            },
            env = new Dictionary<string, string>
            {
                ["HOME"] = "home", ["ANTHROPIC_BASE_URL"] = _model.BaseUrl, ["MCP_TIMEOUT"] = "1500", ["ENABLE_TOOL_SEARCH"] = "false",
                ["DISABLE_AUTOUPDATER"] = "1", ["DISABLE_TELEMETRY"] = "1", ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            },
            secrets = new Dictionary<string, string> { ["ANTHROPIC_API_KEY"] = "anthropic" },
        });

        long id;
        using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "please greet bob" }))
        {
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
            id = (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        }

        // The message comes back (handed out again: redelivered) and is never acknowledged.
        await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT delivery_count FROM messages WHERE id = @id", new { id }) >= 2,
            TimeSpan.FromSeconds(180), "alice's message to be handed out again");
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @id AND delivered_at IS NOT NULL", new { id }));

        JsonElement turns = default;
        await HiveInstance.Until(() =>
        {
            var reply = _hive.GetJsonAsync("/api/agents/alice/turns").GetAwaiter().GetResult();
            turns = (reply.ValueKind == JsonValueKind.Array ? reply : reply.GetProperty("turns")).Clone();
            return turns.GetArrayLength() > 0;
        }, TimeSpan.FromSeconds(60), "alice's turn to be recorded");
        foreach (var turn in turns.EnumerateArray())
        {
            Assert.Equal("failed", turn.GetProperty("result_kind").GetString());
            // Claude Code's init line says "pending" (it goes on while the server connects) or "failed" (timed out).
            Assert.Matches("^the hive's MCP server was not connected: (pending|failed)$", turn.GetProperty("note").GetString());
        }
        await DestroyAsync(_hive, "alice");
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @id AND delivered_at IS NOT NULL", new { id }));
    }
}
