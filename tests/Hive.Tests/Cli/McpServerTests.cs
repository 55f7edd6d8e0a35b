using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Contracts.LooseEnds;
using Hive.Contracts.Messages;
using Hive.Contracts.Reminders;
using Hive.Features.Governance;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Hive.Tests.Cli;

/// <summary>
/// <c>hivectl mcp</c>, the built CLI as a child process, driven by the official C# MCP SDK's client over
/// stdio: it lists the agent's verbs as tools with their own field names, a <c>send</c> call reaches another agent's
/// <c>recv</c>, and bad calls are tool errors after which the server keeps serving. Every agent's
/// <c>loose_ends</c>, <c>cancel_loose_end</c>, <c>request_next_turn</c>, and the manager's tools on its socket only.
/// </summary>
public sealed class McpServerTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["alice", "bob"]);

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private Task<McpClient> ConnectAsync(string agent, IDictionary<string, string?>? env = null) =>
        McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "hivectl", Command = "dotnet", Arguments = [Hivectl.Dll, "mcp", "--socket", _hive.SocketPath(agent)],
            ShutdownTimeout = TimeSpan.FromSeconds(5), EnvironmentVariables = env,
        }), ClientOptions);

    /// <summary>
    /// No separate 5 s probe: hivectl answers <c>server/discover</c>, but a busy machine can take longer than that to start
    /// it, and a client that gave up on the probe then sends <c>initialize</c>, which the server that answered refuses.
    /// </summary>
    private static readonly McpClientOptions ClientOptions = new()
    {
        DiscoverProbeTimeout = Timeout.InfiniteTimeSpan, InitializationTimeout = TimeSpan.FromSeconds(90),
    };

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    private static JsonElement Json(CallToolResult result) => JsonDocument.Parse(Text(result)).RootElement.Clone();

    /// <summary>A tool's text read as the verb's reply record (or, for a tool error, as the <see cref="Refusal"/>).</summary>
    private static T Read<T>(CallToolResult result) => JsonSerializer.Deserialize<T>(Text(result), HiveJson.Options)!;

    /// <summary>Every agent's tools, in order.</summary>
    private static readonly string[] AgentTools =
        ["ack", "answer", "ask", "cancel_loose_end", "count_pending_reminders", "loose_ends", "recurring_cancel", "recurring_list",
         "recurring_pause", "recurring_resume", "recv", "remind", "request_next_turn", "send", "spawn", "ticket_memory", "whoami"];

    /// <summary>The manager's, besides: on its socket only.</summary>
    private static readonly string[] ManagerTools =
        ["list_agents", "pause", "propose_config", "rebuild", "request_destroy", "request_fork", "request_spawn", "restart", "resume", "start", "stop"];

    [Fact]
    public async Task The_tools_are_the_agents_verbs_a_send_reaches_the_recipient_and_bad_calls_are_tool_errors()
    {
        await using var client = await ConnectAsync("alice");

        var tools = await client.ListToolsAsync();
        Assert.Equal(AgentTools, tools.Select(t => t.Name).Order());
        var send = tools.Single(t => t.Name == "send").ProtocolTool.InputSchema;
        Assert.Equal(["body", "to"], send.GetProperty("required").EnumerateArray().Select(r => r.GetString()).Order());
        // Optional arguments are optional: a model may call recv with none.
        Assert.False(tools.Single(t => t.Name == "recv").ProtocolTool.InputSchema.TryGetProperty("required", out _));

        var whoami = await client.CallToolAsync("whoami", new Dictionary<string, object?>());
        Assert.NotEqual(true, whoami.IsError);
        Assert.Equal("alice", Read<WhoamiReply>(whoami).Name);

        var sent = await client.CallToolAsync("send", new Dictionary<string, object?> { ["to"] = "bob", ["body"] = "from an MCP client" });
        Assert.NotEqual(true, sent.IsError);
        var id = Read<SendReply>(sent).Id;
        await using (var bob = await _hive.ConnectAsync("bob"))
        {
            var message = (await bob.RecvMessageAsync(5_000))!;
            await bob.AckAsync(message.Id);
            Assert.Equal(id, message.Id);
            Assert.Equal("from an MCP client", message.Body);
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
            Assert.Equal(code, Read<Refusal>(result).Code);
        }
        Assert.NotEqual(true, (await client.CallToolAsync("whoami", new Dictionary<string, object?>())).IsError); // still serving
    }

    [Fact]
    public async Task Loose_ends_cancel_loose_end_and_request_next_turn_are_every_agents_tools()
    {
        await using var client = await ConnectAsync("alice");
        await using var alice = await _hive.ConnectAsync("alice");
        var reminder = (await alice.CallAsync(ReminderVerbs.Remind, new RemindArgs("look again", 3600, null, null, null, null, null, null))).Id;

        var ends = Read<LooseEndsReply>(await client.CallToolAsync("loose_ends", new Dictionary<string, object?>())).LooseEnds.ToList();
        var end = Assert.Single(ends);
        Assert.Equal(("reminder", reminder, "reminder"), (end.Kind, end.Id, end.Cancel));

        var cancelled = await client.CallToolAsync("cancel_loose_end", new Dictionary<string, object?> { ["kind"] = "reminder", ["id"] = reminder });
        Assert.NotEqual(true, cancelled.IsError);
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE id = @reminder", new { reminder }));
        var again = await client.CallToolAsync("cancel_loose_end", new Dictionary<string, object?> { ["kind"] = "reminder", ["id"] = reminder });
        Assert.True(again.IsError);
        Assert.Equal("not_found", Read<Refusal>(again).Code);

        var turn = Read<NextTurnReply>(await client.CallToolAsync("request_next_turn", new Dictionary<string, object?>()));
        Assert.True(turn.Queued);
        var message = (await alice.RecvMessageAsync(5_000))!;
        await alice.AckAsync(message.Id);
        Assert.Equal(turn.Id, message.Id);
        Assert.Equal("next_turn", message.Kind);
    }

    [Fact]
    public async Task The_managers_tools_are_listed_on_its_socket_only_and_its_request_spawn_creates_an_approval()
    {
        await using var manager = await ConnectAsync("manager");
        Assert.Equal(AgentTools.Concat(ManagerTools).Order(), (await manager.ListToolsAsync()).Select(t => t.Name).Order());

        // An agent that claims to be the manager in its environment is still listed what its socket is.
        await using var pretender = await ConnectAsync("alice", new Dictionary<string, string?> { ["HIVE_AGENT"] = "manager" });
        Assert.Equal(AgentTools, (await pretender.ListToolsAsync()).Select(t => t.Name).Order());
        var refused = await pretender.CallToolAsync("request_spawn", new Dictionary<string, object?> { ["name"] = "sneaky", ["purpose"] = "x", ["command"] = new[] { "/bin/true" } });
        Assert.True(refused.IsError);
        Assert.Equal("forbidden", Read<Refusal>(refused).Code);

        var spawned = await manager.CallToolAsync("request_spawn", new Dictionary<string, object?>
        {
            ["name"] = "helper", ["purpose"] = "helps", ["command"] = new[] { "/bin/true" }, ["driver"] = "process",
        });
        Assert.NotEqual(true, spawned.IsError);
        var id = Read<ApprovalReply>(spawned).ApprovalId;
        var approval = (await _hive.GetAsync<ApprovalView[]>("/api/approvals")).Single(a => a.Id == id);
        Assert.Equal(("spawn", "pending", "helper"), (approval.Kind, approval.Status, approval.Agent));
        Assert.Equal(1, (await _hive.GetJsonAsync("/api/approvals?status=all")).GetArrayLength()); // the pretender's recorded nothing

        // Agent rows, raw: they are assembled at run time and have no record.
        var agents = Json(await manager.CallToolAsync("list_agents", new Dictionary<string, object?>())).GetProperty("agents").EnumerateArray();
        Assert.Subset(agents.Select(a => a.GetProperty("name").GetString()!).ToHashSet(), new HashSet<string> { "alice", "bob", "manager" });
        var self = await manager.CallToolAsync("stop", new Dictionary<string, object?> { ["name"] = "manager" });
        Assert.True(self.IsError);
        Assert.Equal("forbidden", Read<Refusal>(self).Code);
    }

    [Fact]
    public async Task The_managers_pause_and_resume_tools_take_a_name_and_a_reason_and_are_recorded_at_its_authority()
    {
        await using var manager = await ConnectAsync("manager");
        var pause = (await manager.ListToolsAsync()).Single(t => t.Name == "pause").ProtocolTool.InputSchema;
        Assert.Equal(["name"], pause.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["name", "reason"], pause.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());

        var paused = await manager.CallToolAsync("pause", new Dictionary<string, object?> { ["name"] = "bob", ["reason"] = "stuck in a loop" });
        Assert.NotEqual(true, paused.IsError);
        Assert.Equal("bob", Read<AgentReply>(paused).Agent);
        Assert.Contains((await _hive.GetAsync<GovernanceView>("/api/governance")).Paused, p => p.Agent == "bob");
        var recorded = (await _hive.GetAsync<InterventionView[]>("/api/interventions?agent=bob"))[0];
        Assert.Equal(("manager", "monitor", "pause", "stuck in a loop"), (recorded.Actor, recorded.AuthorityName, recorded.Action, recorded.Reason));

        Assert.NotEqual(true, (await manager.CallToolAsync("resume", new Dictionary<string, object?> { ["name"] = "bob" })).IsError);
        Assert.Empty((await _hive.GetAsync<GovernanceView>("/api/governance")).Paused);

        // Not itself; and the operator's pause is not the manager's to lift.
        var self = await manager.CallToolAsync("pause", new Dictionary<string, object?> { ["name"] = "manager" });
        Assert.True(self.IsError);
        Assert.Equal("forbidden", Read<Refusal>(self).Code);
        using (var operatorPause = await _hive.Http.PostAsync("/api/governance/agents/bob/pause", null)) Assert.Equal(HttpStatusCode.OK, operatorPause.StatusCode);
        var lift = await manager.CallToolAsync("resume", new Dictionary<string, object?> { ["name"] = "bob" });
        Assert.True(lift.IsError);
        Assert.Equal("forbidden", Read<Refusal>(lift).Code);
        // On an agent's socket the tools are not listed, and a call is forbidden.
        await using var alice = await ConnectAsync("alice");
        Assert.DoesNotContain((await alice.ListToolsAsync()).Select(t => t.Name), n => n is "pause" or "resume");
        var refused = await alice.CallToolAsync("resume", new Dictionary<string, object?> { ["name"] = "bob" });
        Assert.True(refused.IsError);
        Assert.Equal("forbidden", Read<Refusal>(refused).Code);
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
        // The inspector prints MCP's own tools/list result: read as the SDK's record of it; the schema inside stays JSON.
        var tools = JsonSerializer.Deserialize<ListToolsResult>(listed[listed.IndexOf('{')..], McpJsonUtilities.DefaultOptions)!.Tools;
        Assert.Contains(tools, t => t.Name == "send" && t.InputSchema.GetProperty("properties").TryGetProperty("to", out _));
        Assert.Equal(AgentTools.Length, tools.Count);

        (code, var called) = await RunAsync("node",
            [inspector, .. server, "--method", "tools/call", "--tool-name", "send", "--tool-arg", "to=bob", "body=via the inspector"], TimeSpan.FromSeconds(60), here);
        Assert.True(code == 0, called);
        await using var bob = await _hive.ConnectAsync("bob");
        var got = (await bob.RecvMessageAsync(5_000))!;
        await bob.AckAsync(got.Id);
        Assert.Equal("via the inspector", got.Body);
    }
}
