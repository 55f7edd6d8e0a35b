using System.Diagnostics;
using static Hive.Testing.FakeMessagesApi;

namespace Hive.Tests.Infrastructure;

/// <summary>
/// The real Claude Code CLI (the version <c>./test.sh</c> pins) against <see cref="FakeMessagesApi"/> over real HTTP,
/// with no hive yet: proof that the fake is enough for it (streamed text, tool calls over several requests, an MCP
/// server's tool) and a record of what it sends, for the hive's end-to-end test built on these two. Each test has a
/// fake, a home, a TMPDIR and a working directory of its own, all removed afterwards.
/// </summary>
public sealed class ClaudeCodeTests : IAsyncLifetime
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    private readonly string _apiKey = "sk-ant-test-" + Guid.NewGuid().ToString("N");
    private string _root = null!;
    private string _work = null!;
    private FakeMessagesApi _api = null!;
    private IReadOnlyDictionary<string, string> _environment = null!;

    public async Task InitializeAsync()
    {
        _root = Directory.CreateTempSubdirectory("hive-claude-code-").FullName;
        _work = Directory.CreateDirectory(Path.Combine(_root, "work")).FullName;
        var home = Directory.CreateDirectory(Path.Combine(_root, "home")).FullName;
        var tmp = Directory.CreateDirectory(Path.Combine(_root, "tmp")).FullName;
        _api = await FakeMessagesApi.StartAsync(_apiKey);
        _environment = ClaudeCode.Environment(_api, _apiKey, home, tmp);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        StopMcpServer();
        await TestDirectories.DeleteAsync(_root);
    }

    private Task<ClaudeCode.Run> ClaudeAsync(params string[] args) =>
        ClaudeCode.RunAsync(_work, _environment, RunTimeout, stdin: null, [.. args, "--output-format", "stream-json", "--verbose"]);

    [ClaudeCodeFact]
    public async Task Prints_the_streamed_text_and_a_priced_result_and_sends_the_prompt_with_its_key()
    {
        _api.Enqueue(ModelReply.Text("Hello from the fake API, in pieces.", new Usage(InputTokens: 1000, OutputTokens: 200)));

        var run = await ClaudeAsync("-p", "Say hello to the hive", "--model", "claude-sonnet-4-5");

        Assert.True(run.ExitCode == 0, run.ToString());
        var init = Assert.Single(run.LinesOf("system", "init"));
        var session = init.GetProperty("session_id").GetString();
        Assert.False(string.IsNullOrEmpty(session), run.ToString());
        Assert.Equal("claude-sonnet-4-5", init.GetProperty("model").GetString());
        Assert.Equal("ANTHROPIC_API_KEY", init.GetProperty("apiKeySource").GetString());
        Assert.Equal("2.1.328", init.GetProperty("claude_code_version").GetString());
        var assistant = Assert.Single(run.LinesOf("assistant"));
        Assert.Equal("Hello from the fake API, in pieces.", assistant.GetProperty("message").GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("claude-sonnet-4-5", assistant.GetProperty("message").GetProperty("model").GetString());
        var result = Assert.Single(run.LinesOf("result"));
        Assert.Equal("success", result.GetProperty("subtype").GetString());
        Assert.False(result.GetProperty("is_error").GetBoolean());
        Assert.Equal(session, result.GetProperty("session_id").GetString());
        Assert.Equal("Hello from the fake API, in pieces.", result.GetProperty("result").GetString());
        Assert.Equal(1000, result.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(200, result.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        // Claude Code prices the usage itself, from its own table (Sonnet 4.5: $3 in, $15 out per million tokens).
        Assert.Equal(1000 * 3e-6 + 200 * 15e-6, result.GetProperty("total_cost_usd").GetDouble(), 9);

        // One call of the model and nothing else (its HEAD /api/hello probe is off with non-essential traffic).
        var request = Assert.Single(_api.Requests);
        Assert.True(request.IsMessages, request.ToString());
        Assert.Equal("?beta=true", request.Query);
        Assert.True(request.Stream);
        Assert.Equal("claude-sonnet-4-5", request.Model);
        Assert.True(request.Mentions("Say hello to the hive"), request.ToString());
        Assert.True(request.ApiKeyMatched);
        Assert.Equal("(redacted)", request.Headers["x-api-key"]);
        Assert.Equal("2023-06-01", request.Headers["anthropic-version"]);
        Assert.Equal(session, request.Headers["X-Claude-Code-Session-Id"]);
        Assert.StartsWith("claude-cli/2.1.328", request.Headers["User-Agent"]);
        Assert.DoesNotContain(_apiKey, string.Join("\n", _api.Requests.Select(r => $"{string.Join(" ", r.Headers)} {r.Body}")));
    }

    [ClaudeCodeFact]
    public async Task A_tool_call_it_may_not_make_is_refused_and_the_refusal_goes_back_to_the_model_in_a_second_request()
    {
        var forbidden = Path.Combine(_work, "forbidden.txt");
        var call = ModelReply.ToolUse("Write", JsonSerializer.Serialize(new { file_path = forbidden, content = "written by the fake model" }),
            textBefore: "I will write the file.");
        _api.Enqueue(call, ModelReply.Text("I could not write it."));

        var run = await ClaudeAsync("-p", "Write the file");

        // Refused, not asked (-p has nobody to ask), and still exit 0.
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(File.Exists(forbidden));
        var denied = Assert.Single(run.LinesOf("system", "permission_denied"));
        Assert.Equal("Write", denied.GetProperty("tool_name").GetString());
        Assert.Equal(call.ToolUseId, denied.GetProperty("tool_use_id").GetString());
        var result = Assert.Single(run.LinesOf("result"));
        Assert.Equal("I could not write it.", result.GetProperty("result").GetString());
        Assert.Equal(2, result.GetProperty("num_turns").GetInt32());
        Assert.Equal(2 * ModelReply.DefaultUsage.InputTokens, result.GetProperty("usage").GetProperty("input_tokens").GetInt32());

        var second = await _api.WaitForRequestAsync(r => r.IsMessages && r.ToolResults.Count > 0);
        Assert.Equal([0, 1], _api.MessagesRequests.Select(r => r.Index));
        var sentBack = Assert.Single(second.ToolUses);
        Assert.Equal(call.ToolUseId, sentBack.GetProperty("id").GetString());
        Assert.Equal(forbidden, sentBack.GetProperty("input").GetProperty("file_path").GetString());
        var refusal = Assert.Single(second.ToolResults);
        Assert.Equal(call.ToolUseId, refusal.GetProperty("tool_use_id").GetString());
        Assert.True(refusal.GetProperty("is_error").GetBoolean(), refusal.ToString());
        Assert.True(second.Mentions("I will write the file."), second.ToString());
    }

    /// <summary>A stdio MCP server with one tool, <c>echo</c>, that logs each message it gets (and first its pid).</summary>
    private const string McpServer = """
        const fs = require('fs');
        const log = process.env.MCP_LOG;
        fs.appendFileSync(log, JSON.stringify({ pid: process.pid }) + '\n');
        const send = m => process.stdout.write(JSON.stringify(m) + '\n');
        require('readline').createInterface({ input: process.stdin }).on('line', line => {
          fs.appendFileSync(log, line + '\n');
          const m = JSON.parse(line);
          if (m.method === 'initialize')
            send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'notes', version: '1.0.0' } } });
          else if (m.method === 'tools/list')
            send({ jsonrpc: '2.0', id: m.id, result: { tools: [{ name: 'echo', description: 'Echoes its text.',
              inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } }] } });
          else if (m.method === 'tools/call')
            send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: 'echo: ' + m.params.arguments.text }] } });
          else if (m.id !== undefined)
            send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no such method' } });
        });
        """;

    private string? _mcpScript;
    private string? _mcpLog;

    [ClaudeCodeFact]
    public async Task An_allowed_mcp_tool_is_offered_to_the_model_called_on_its_server_and_its_result_goes_back()
    {
        _mcpScript = Path.Combine(_root, "mcp-server.js");
        _mcpLog = Path.Combine(_root, "mcp-server.log");
        await File.WriteAllTextAsync(_mcpScript, McpServer);
        var config = Path.Combine(_root, "mcp.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            mcpServers = new { notes = new { command = "node", args = new[] { _mcpScript }, env = new { MCP_LOG = _mcpLog } } },
        }));
        var call = ModelReply.ToolUse("mcp__notes__echo", """{"text":"ping"}""");
        _api.Enqueue(call, ModelReply.Text("The server said echo: ping."));

        var run = await ClaudeAsync("-p", "Echo ping", "--mcp-config", config, "--strict-mcp-config", "--allowedTools", "mcp__notes__echo");

        Assert.True(run.ExitCode == 0, run.ToString());
        var server = Assert.Single(Assert.Single(run.LinesOf("system", "init")).GetProperty("mcp_servers").EnumerateArray());
        Assert.Equal("notes", server.GetProperty("name").GetString());
        Assert.Equal("connected", server.GetProperty("status").GetString());
        Assert.Equal("The server said echo: ping.", Assert.Single(run.LinesOf("result")).GetProperty("result").GetString());

        // Offered by name with its schema, not behind the tool search (ENABLE_TOOL_SEARCH=false).
        var first = await _api.WaitForRequestAsync(r => r.IsMessages);
        Assert.Contains("mcp__notes__echo", first.ToolNames);
        Assert.DoesNotContain("ToolSearch", first.ToolNames);
        var tool = first.Body!.Value.GetProperty("tools").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "mcp__notes__echo");
        Assert.Equal("Echoes its text.", tool.GetProperty("description").GetString());
        Assert.Equal("text", tool.GetProperty("input_schema").GetProperty("required")[0].GetString());

        var calls = (await File.ReadAllLinesAsync(_mcpLog)).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(m => m.TryGetProperty("method", out var method) && method.GetString() == "tools/call").ToList();
        var called = Assert.Single(calls).GetProperty("params");
        Assert.Equal("echo", called.GetProperty("name").GetString());
        Assert.Equal("ping", called.GetProperty("arguments").GetProperty("text").GetString());

        var second = await _api.WaitForRequestAsync(r => r.IsMessages && r.ToolResults.Count > 0);
        var answer = Assert.Single(second.ToolResults);
        Assert.Equal(call.ToolUseId, answer.GetProperty("tool_use_id").GetString());
        Assert.False(answer.TryGetProperty("is_error", out var isError) && isError.GetBoolean(), answer.ToString());
        Assert.Equal("echo: ping", answer.GetProperty("content")[0].GetProperty("text").GetString());
    }

    /// <summary>Claude Code ends its MCP servers when it exits; should one outlive it, it is stopped here, by its pid.</summary>
    private void StopMcpServer()
    {
        if (_mcpLog is null || !File.Exists(_mcpLog)) return;
        foreach (var line in File.ReadLines(_mcpLog))
        {
            using var message = JsonDocument.Parse(line);
            if (!message.RootElement.TryGetProperty("pid", out var pid)) continue;
            try
            {
                var cmdline = File.ReadAllText($"/proc/{pid.GetInt32()}/cmdline");
                if (!cmdline.Contains(_mcpScript!, StringComparison.Ordinal)) continue;
                using var server = Process.GetProcessById(pid.GetInt32());
                server.Kill();
                server.WaitForExit();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException) { }
        }
    }
}
