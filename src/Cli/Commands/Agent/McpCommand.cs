using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Contracts.Protocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Hive.Cli.Commands.Agent;

/// <summary>
/// <c>hivectl mcp</c>: an MCP server over stdio for the agent whose socket it is given. Each tool is one socket verb, its
/// arguments the verb's own field names; a call forwards one request and answers the reply as JSON text. A refusal, a bad
/// argument or an unreachable socket is a tool error (<c>isError</c>) with the host's code and sentence, never a crash.
/// stdout carries only the protocol (the SDK's); nothing else is written there.
/// The manager's tools are listed only when the socket itself says it is the manager's (<c>whoami</c>, asked at each
/// <c>tools/list</c>): not from <c>$HIVE_AGENT</c>, which any process can set. The host refuses them on any other socket
/// anyway; listing them there would only offer an agent tools that always fail.
/// </summary>
public static class McpCommand
{
    /// <summary>The verbs the protocol offers as tools: every agent's, and the manager's (listed on its socket only).</summary>
    private static readonly SocketVerb[] AgentTools = [.. AgentProtocol.Verbs.Where(v => v is { McpTool: true, Caller: VerbCaller.Agent })];
    private static readonly SocketVerb[] ManagerTools = [.. AgentProtocol.Verbs.Where(v => v is { McpTool: true, Caller: VerbCaller.Manager })];
    private static readonly SocketVerb[] AllTools = [.. AgentTools, .. ManagerTools];

    public static void AddTo(RootCommand root)
    {
        var command = new Command("mcp", "serve the agent's socket verbs as MCP tools over stdio, the manager's too on the manager's socket (for an MCP client such as Claude Code)");
        command.SetAction(async (parse, ct) =>
        {
            var context = new CliContext(parse, Console.Out, Console.Error);
            string socket;
            try
            {
                socket = context.SocketPath;
            }
            catch (UsageError e)
            {
                Console.Error.WriteLine($"hivectl: usage: {e.Message}");
                return CommandRunner.Usage;
            }
            await ServeAsync(socket, ct);
            return 0;
        });
        root.Subcommands.Add(command);
    }

    private static async Task ServeAsync(string socketPath, CancellationToken ct)
    {
        var agentTools = AgentTools.Select(ToTool).ToList();
        var managerTools = agentTools.Concat(ManagerTools.Select(ToTool)).ToList();
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "hivectl", Version = typeof(McpCommand).Assembly.GetName().Version?.ToString() ?? "0" },
            Handlers = new McpServerHandlers
            {
                ListToolsHandler = async (_, token) =>
                    new ListToolsResult { Tools = await IsManagersAsync(socketPath, token) ? managerTools : agentTools },
                CallToolHandler = async (request, token) => await CallAsync(socketPath, request.Params, token),
            },
        };
        await using var server = McpServer.Create(new StdioServerTransport("hivectl"), options);
        await server.RunAsync(ct);
    }

    private static Tool ToTool(SocketVerb verb) => new()
    {
        Name = verb.Name, Description = verb.Description, InputSchema = JsonSerializer.SerializeToElement(VerbSchema.Of(verb.Args)),
    };

    /// <summary>Whether the hive says this socket is the manager's; a socket that does not answer is not.</summary>
    private static async Task<bool> IsManagersAsync(string socketPath, CancellationToken ct)
    {
        try
        {
            await using var socket = await HiveSocketClient.ConnectAsync(socketPath, ct);
            return Text.Str(await socket.CallAsync("whoami", ct: ct), "name") == "manager";
        }
        catch (CliError)
        {
            return false;
        }
    }

    /// <summary>One tool call: one request on the agent's socket. Every failure is the tool's error, never the server's.</summary>
    private static async Task<CallToolResult> CallAsync(string socketPath, CallToolRequestParams? call, CancellationToken ct)
    {
        // A manager's tool called on another socket is forwarded all the same: the host's forbidden says why it fails.
        if (call is null || AllTools.All(t => t.Name != call.Name))
            return Error("bad_request", $"no tool named {call?.Name}: the tools are {string.Join(", ", AgentTools.Select(t => t.Name))} (and the manager's on its socket)");
        var request = new JsonObject { ["op"] = call.Name };
        foreach (var (key, value) in call.Arguments ?? new Dictionary<string, JsonElement>())
        {
            if (key == "op") return Error("bad_request", "op is not an argument: the tool is the verb");
            request[key] = JsonNode.Parse(value.GetRawText());
        }
        try
        {
            await using var socket = await HiveSocketClient.ConnectAsync(socketPath, ct);
            var reply = await socket.RawCallAsync(request, ct);
            if (reply["ok"]?.GetValue<bool>() == true)
                return new CallToolResult { Content = [new TextContentBlock { Text = reply.ToJsonString() }] };
            return Error(reply["code"]?.GetValue<string>() ?? "failed", reply["error"]?.GetValue<string>() ?? "the hive refused the request");
        }
        catch (CliError e)
        {
            return Error(e.Code, e.Message);
        }
    }

    private static CallToolResult Error(string code, string message) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = new JsonObject { ["ok"] = false, ["code"] = code, ["error"] = message }.ToJsonString() }],
    };
}
