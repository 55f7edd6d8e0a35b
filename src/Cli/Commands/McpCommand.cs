using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Hive.Cli.Commands;

/// <summary>
/// <c>hivectl mcp</c>: an MCP server over stdio for the agent whose socket it is given. Each tool is one socket verb, its
/// arguments the verb's own field names; a call forwards one request and answers the reply as JSON text. A refusal, a bad
/// argument or an unreachable socket is a tool error (<c>isError</c>) with the host's code and sentence, never a crash.
/// stdout carries only the protocol (the SDK's); nothing else is written there.
/// </summary>
public static class McpCommand
{
    private sealed record ToolSpec(string Name, string Description, string Schema);

    private static readonly ToolSpec[] Tools =
    [
        new("whoami", "The name of the agent whose socket this is.", """{"type":"object","properties":{}}"""),
        new("send", "Send a message to an agent, the operator, the manager, or * (every other live agent).", """
            {"type":"object","required":["to","body"],"properties":{
              "to":{"type":"string","description":"an agent's name, operator, manager, or * for a broadcast"},
              "body":{"type":"string","description":"the message, at most 1024 UTF-8 bytes"},
              "in_reply_to":{"type":"integer","description":"the id of a message you sent or received that this one answers"},
              "client_id":{"type":"string","description":"an idempotency key: a resend with it returns the first id"}}}
            """),
        new("recv", "Take the next waiting message(s); each stays in flight until acknowledged (ack).", """
            {"type":"object","properties":{
              "wait_ms":{"type":"integer","minimum":0,"maximum":30000,"description":"how long to wait for one, 0 to 30000 ms"},
              "ack":{"type":"integer","description":"acknowledge this message id first"},
              "max":{"type":"integer","minimum":1,"maximum":32,"description":"up to this many at once (messages array when above 1)"}}}
            """),
        new("ack", "Acknowledge a message you received (unacknowledged, it is handed out again).", """
            {"type":"object","required":["id"],"properties":{"id":{"type":"integer"}}}
            """),
        new("remind", "Schedule a reminder to yourself.", """
            {"type":"object","required":["body"],"properties":{
              "body":{"type":"string","description":"what to remind you of (over 1 KiB it is kept as a file in your state dir)"},
              "in_seconds":{"type":"number","description":"when, from now (give this or due_at)"},
              "due_at":{"type":"string","description":"when, as an ISO 8601 time with a zone (give this or in_seconds)"},
              "payload_path":{"type":"string","description":"a state file of yours, or in /shared, to carry along"}}}
            """),
        new("count_pending_reminders", "How many of your reminders have not fired yet.", """{"type":"object","properties":{}}"""),
        new("ask", "Ask the operator (no to) or another agent a question; the answer comes as a message of kind answer.", """
            {"type":"object","required":["question"],"properties":{
              "question":{"type":"string"},
              "to":{"type":"string","description":"an agent's name; leave out to ask the operator"},
              "options":{"type":"array","items":{"type":"string"},"description":"suggested answers (free text is always allowed)"},
              "multi":{"type":"boolean","description":"several options may be chosen"},
              "ttl_seconds":{"type":"integer","minimum":1,"maximum":21600,"description":"unanswered by then it resolves as [expired]"}}}
            """),
        new("answer", "Answer a question someone asked you.", """
            {"type":"object","required":["id","answer"],"properties":{"id":{"type":"integer"},"answer":{"type":"string"}}}
            """),
    ];

    public static void AddTo(RootCommand root)
    {
        var command = new Command("mcp", "serve the agent's socket verbs as MCP tools over stdio (for an MCP client such as Claude Code)");
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
        var tools = Tools.Select(t => new Tool
        {
            Name = t.Name, Description = t.Description, InputSchema = JsonDocument.Parse(t.Schema).RootElement.Clone(),
        }).ToList();
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "hivectl", Version = typeof(McpCommand).Assembly.GetName().Version?.ToString() ?? "0" },
            Handlers = new McpServerHandlers
            {
                ListToolsHandler = (_, _) => ValueTask.FromResult(new ListToolsResult { Tools = tools }),
                CallToolHandler = async (request, token) => await CallAsync(socketPath, request.Params, token),
            },
        };
        await using var server = McpServer.Create(new StdioServerTransport("hivectl"), options);
        await server.RunAsync(ct);
    }

    /// <summary>One tool call: one request on the agent's socket. Every failure is the tool's error, never the server's.</summary>
    private static async Task<CallToolResult> CallAsync(string socketPath, CallToolRequestParams? call, CancellationToken ct)
    {
        if (call is null || Tools.All(t => t.Name != call.Name))
            return Error("bad_request", $"no tool named {call?.Name}: the tools are {string.Join(", ", Tools.Select(t => t.Name))}");
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
