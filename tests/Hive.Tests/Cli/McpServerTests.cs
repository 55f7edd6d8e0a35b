using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Hive.Tests.Cli;

/// <summary>
/// Issue 16 item 2: <c>hivectl mcp</c>, the built CLI as a child process, driven by the official C# MCP SDK's client over
/// stdio: it lists the agent's verbs as tools with their own field names, a <c>send</c> call reaches another agent's
/// <c>recv</c>, and bad calls are tool errors after which the server keeps serving.
/// </summary>
public sealed class McpServerTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"]);

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private Task<McpClient> ConnectAsync(string agent) => McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
    {
        Name = "hivectl", Command = "dotnet", Arguments = [Hivectl.Dll, "mcp", "--socket", _hive.SocketPath(agent)],
        ShutdownTimeout = TimeSpan.FromSeconds(5),
    }));

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    [Fact]
    public async Task The_tools_are_the_agents_verbs_a_send_reaches_the_recipient_and_bad_calls_are_tool_errors()
    {
        await using var client = await ConnectAsync("alice");

        var tools = await client.ListToolsAsync();
        Assert.Equal(["ack", "answer", "ask", "count_pending_reminders", "recv", "remind", "send", "whoami"], tools.Select(t => t.Name).Order());
        var send = tools.Single(t => t.Name == "send").ProtocolTool.InputSchema;
        Assert.Equal(["body", "to"], send.GetProperty("required").EnumerateArray().Select(r => r.GetString()).Order());

        var whoami = await client.CallToolAsync("whoami", new Dictionary<string, object?>());
        Assert.NotEqual(true, whoami.IsError);
        Assert.Equal("alice", JsonDocument.Parse(Text(whoami)).RootElement.GetProperty("name").GetString());

        var sent = await client.CallToolAsync("send", new Dictionary<string, object?> { ["to"] = "bob", ["body"] = "from an MCP client" });
        Assert.NotEqual(true, sent.IsError);
        var id = JsonDocument.Parse(Text(sent)).RootElement.GetProperty("id").GetInt64();
        await using (var bob = await _hive.ConnectAsync("bob"))
        {
            var message = (await bob.RecvAndAckAsync(5_000))!.Value;
            Assert.Equal(id, message.GetProperty("id").GetInt64());
            Assert.Equal("from an MCP client", message.GetProperty("body").GetString());
        }

        foreach (var (tool, args, code) in new (string, Dictionary<string, object?>, string)[]
                 {
                     ("send", new() { ["body"] = "no recipient" }, "validation"),
                     ("send", new() { ["to"] = "nobody", ["body"] = "hi" }, "not_found"),
                     ("send", new() { ["to"] = "bob", ["body"] = 42 }, "bad_request"),
                     ("ack", new() { ["id"] = 999_999 }, "not_found"),
                     ("teleport", new(), "bad_request"),
                 })
        {
            var result = await client.CallToolAsync(tool, args);
            Assert.True(result.IsError, $"{tool}: {Text(result)}");
            Assert.Equal(code, JsonDocument.Parse(Text(result)).RootElement.GetProperty("code").GetString());
        }
        Assert.NotEqual(true, (await client.CallToolAsync("whoami", new Dictionary<string, object?>())).IsError); // still serving
    }

    /// <summary>The MCP inspector's CLI (npm, 1.0.3): a client this project did not write. Installed once per machine into a temp dir.</summary>
    private static async Task<string> InspectorAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "hive-tests-npm", "inspector-cli-1.0.3");
        var cli = Path.Combine(dir, "node_modules", "@modelcontextprotocol", "inspector-cli", "build", "index.js");
        if (File.Exists(cli)) return cli;
        Directory.CreateDirectory(dir);
        var (code, output) = await RunAsync("npm", ["install", "--silent", "--no-audit", "--no-fund", "--prefix", dir, "@modelcontextprotocol/inspector-cli@1.0.3"], TimeSpan.FromMinutes(3));
        Assert.True(code == 0 && File.Exists(cli), $"npm could not install @modelcontextprotocol/inspector-cli@1.0.3 (is the npm registry reachable?): {output}");
        return cli;
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, string[] args, TimeSpan timeout, string? workingDirectory = null)
    {
        var info = new System.Diagnostics.ProcessStartInfo(program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, $"timed out after {timeout.TotalSeconds} s; {await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task The_mcp_inspectors_cli_lists_the_tools_and_its_send_reaches_the_recipient()
    {
        var inspector = await InspectorAsync();
        string[] server = ["dotnet", Hivectl.Dll, "mcp", "--socket", _hive.SocketPath("alice")];

        // Run from its build dir: 1.0.3 looks for its package.json relative to the working directory.
        var here = Path.GetDirectoryName(inspector)!;
        var (code, listed) = await RunAsync("node", [inspector, .. server, "--method", "tools/list"], TimeSpan.FromSeconds(60), here);
        Assert.True(code == 0, listed);
        var tools = JsonDocument.Parse(listed[listed.IndexOf('{')..]).RootElement.GetProperty("tools").EnumerateArray().ToList();
        Assert.Contains(tools, t => t.GetProperty("name").GetString() == "send"
            && t.GetProperty("inputSchema").GetProperty("properties").TryGetProperty("to", out _));
        Assert.Equal(8, tools.Count);

        (code, var called) = await RunAsync("node",
            [inspector, .. server, "--method", "tools/call", "--tool-name", "send", "--tool-arg", "to=bob", "body=via the inspector"], TimeSpan.FromSeconds(60), here);
        Assert.True(code == 0, called);
        await using var bob = await _hive.ConnectAsync("bob");
        Assert.Equal("via the inspector", (await bob.RecvAndAckAsync(5_000))!.Value.GetProperty("body").GetString());
    }
}
