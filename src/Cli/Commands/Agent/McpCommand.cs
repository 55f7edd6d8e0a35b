using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
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
    private sealed record ToolSpec(string Name, string Description, string Schema);

    private static readonly ToolSpec[] AgentTools =
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
        new("remind",
            "Schedule a reminder to yourself: once (in_seconds or due_at), or recurring (cron: returns {id, recurring: true, " +
            "next_runs}; each run arrives as a reminder message carrying recurring_id; manage it with the recurring_* tools).", """
            {"type":"object","required":["body"],"properties":{
              "body":{"type":"string","description":"what to remind you of (over 1 KiB it is kept as a file in your state dir; a recurring one's body is at most 1 KiB)"},
              "in_seconds":{"type":"number","description":"when, from now (give this, due_at or cron)"},
              "due_at":{"type":"string","description":"when, as an ISO 8601 time with a zone (give this, in_seconds or cron)"},
              "cron":{"type":"string","description":"a recurring reminder: five cron fields, minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5"},
              "time_zone":{"type":"string","description":"the IANA time zone cron is read in (default UTC), e.g. Europe/Berlin"},
              "catch_up":{"type":"string","enum":["skip","one"],"description":"runs missed while the hive was down: skip them (default) or deliver one for all"},
              "overlap":{"type":"string","enum":["skip_if_pending","always"],"description":"skip a run while you have not acknowledged the last one (default), or always deliver"},
              "payload_path":{"type":"string","description":"a state file of yours, or in /shared, to carry along"}}}
            """),
        new("recurring_list", "List your recurring reminders with their next three runs and latest runs.", """{"type":"object","properties":{}}"""),
        new("recurring_pause", "Pause one of your recurring reminders: no run until you resume it.", """
            {"type":"object","required":["id"],"properties":{"id":{"type":"integer","description":"the recurring reminder's id"}}}
            """),
        new("recurring_resume", "Resume a paused recurring reminder: runs start again from the next time after now.", """
            {"type":"object","required":["id"],"properties":{"id":{"type":"integer","description":"the recurring reminder's id"}}}
            """),
        new("recurring_cancel", "Cancel one of your recurring reminders for good (with its history).", """
            {"type":"object","required":["id"],"properties":{"id":{"type":"integer","description":"the recurring reminder's id"}}}
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
        new("request_next_turn",
            "Ask to be woken for another turn without waiting for anyone else: the hive queues a message of kind next_turn from you " +
            "to yourself, which your next recv hands out (acknowledge it like any other). At most one waits at a time: asking again " +
            "while one is waiting returns that one. Returns {id, queued}; queued is false when an earlier request was still waiting.",
            """{"type":"object","properties":{}}"""),
        new("loose_ends",
            "List your open threads, oldest first: questions you asked that wait for an answer (kind asked), questions put to you " +
            "that wait for your answer (kind to_answer: answer them with answer), and your reminders that have not fired (kind " +
            "reminder). Returns {loose_ends: [{kind, id, text, since, with, due, cancel}]}: with is the other party of a question, " +
            "due a reminder's time or a question's expiry, cancel the kind to give cancel_loose_end (null when it is not yours to cancel).",
            """{"type":"object","properties":{}}"""),
        new("cancel_loose_end",
            "Cancel one of your own loose ends: a question you asked (kind question; it is closed as [cancelled] and leaves whoever it " +
            "was put to) or a reminder you set (kind reminder; it never fires). Use the kind and id that loose_ends gives. Returns " +
            "{ok: true}; not_found when there is no such thread, forbidden when it is not yours, conflict when it is already resolved.",
            """
            {"type":"object","required":["kind","id"],"properties":{
              "kind":{"type":"string","enum":["question","reminder"],"description":"the cancel field of the loose end"},
              "id":{"type":"integer","description":"the loose end's id"}}}
            """),
    ];

    /// <summary>The manager's verbs: listed only on the manager's socket.</summary>
    private static readonly ToolSpec[] ManagerTools =
    [
        new("list_agents",
            "List every agent of the hive with its state: name, kind, driver, desired and actual state (running, stopped, crashed, " +
            "failed), transient action, pid, restarts, last exit, purpose, command, pending reminders, what it waits on. " +
            "Returns {agents: [...]}; with a capability, only the agents having it.",
            """{"type":"object","properties":{"capability":{"type":"string","pattern":"^[a-z][a-z0-9-]{0,30}$","description":"only the agents having this capability, e.g. review"}}}"""),
        new("request_spawn",
            "Ask the operator for a new agent. Nothing runs yet: this creates a spawn approval that the operator approves or denies " +
            "on the dashboard; the hive checks now what it can (a free, well-formed name, no request for it already waiting, a " +
            "runnable command), and refuses with validation, conflict or not_found when it cannot run. Returns {approval_id}; " +
            "when the operator decides you get a message from hive of kind approval_resolved (approval_id, status approved or " +
            "denied, reason), and an approved agent starts at once.",
            """
            {"type":"object","required":["name","purpose"],"properties":{
              "name":{"type":"string","pattern":"^[a-z][a-z0-9-]{0,30}$","description":"the new agent's name"},
              "purpose":{"type":"string","description":"what the agent is for, for the operator deciding (at most 1024 bytes)"},
              "command":{"type":"array","items":{"type":"string"},"description":"the program and its arguments (default: the preset's, else the hive's default command)"},
              "driver":{"type":"string","description":"process, bubblewrap or nixos-container (default: the hive's)"},
              "preset":{"type":"string","description":"a preset the hive knows, e.g. claude-code"},
              "env":{"type":"object","additionalProperties":{"type":"string"},"description":"environment variables for the agent"},
              "secrets":{"type":"object","additionalProperties":{"type":"string"},"description":"environment variable name -> the name of an operator's secret to put there (never a value)"},
              "mounts":{"type":"array","items":{"type":"string"},"description":"host paths the sandbox shows the agent, read-only"},
              "provider":{"type":"string","pattern":"^[a-z][a-z0-9-]{0,30}$","description":"the model provider whose quota and caps it counts against (default: the preset's, else anthropic)"},
              "limits":{"type":"object","additionalProperties":false,"properties":{"memory_mib":{"type":"integer"},"cpu_percent":{"type":"integer"},"pids":{"type":"integer"}},"description":"its own caps (memory MiB, CPU % of one core, processes); each left out is the hive's default"},
              "capabilities":{"type":"array","maxItems":16,"items":{"type":"string","pattern":"^[a-z][a-z0-9-]{0,30}$"},"description":"the kinds of work it takes, e.g. design, code, review"}}}
            """),
        new("request_destroy",
            "Ask the operator to destroy an agent: its process is stopped, its socket dropped, and its state dir kept as a tombstone " +
            "(a later spawn of the same name takes it back). Nothing happens until the operator approves. Returns {approval_id}; " +
            "you get a message from hive of kind approval_resolved when the operator decides.",
            """
            {"type":"object","required":["name","reason"],"properties":{
              "name":{"type":"string","description":"the agent to destroy"},
              "reason":{"type":"string","description":"why, for the operator deciding (at most 1024 bytes)"}}}
            """),
        new("propose_config",
            "Propose a whole new configuration for an existing agent (not an external one, and not yourself). It is checked as a " +
            "new agent would be, pinned in the meta repo, and shown to the operator as a diff; approved, it is committed and exactly " +
            "that agent is rebuilt on it (if the new configuration fails to start, the old one is restored and you get a " +
            "config_failed message). Omitted fields take their defaults, so send every field you want to keep. Returns " +
            "{approval_id}; you get a message from hive of kind approval_resolved when the operator decides.",
            """
            {"type":"object","required":["name","config"],"properties":{
              "name":{"type":"string","description":"the agent"},
              "config":{"type":"object","description":"the agent's whole configuration","properties":{
                "command":{"type":"array","items":{"type":"string"}},
                "driver":{"type":"string"},
                "env":{"type":"object","additionalProperties":{"type":"string"}},
                "purpose":{"type":"string"},
                "restart":{"type":"string","description":"the restart policy, e.g. on-failure"},
                "mounts":{"type":"array","items":{"type":"string"}},
                "inputs":{"type":"array","items":{"type":"string"},"description":"names of meta inputs it is built from"},
                "allowed_recipients":{"type":"array","items":{"type":"string"},"description":"whom it may message (absent: anyone)"},
                "secrets":{"type":"object","additionalProperties":{"type":"string"},"description":"environment variable name -> an operator's secret name"},
                "provider":{"type":"string","description":"the model provider whose quota and caps it counts against (absent: anthropic)"},
                "limits":{"type":"object","additionalProperties":false,"properties":{"memory_mib":{"type":"integer"},"cpu_percent":{"type":"integer"},"pids":{"type":"integer"}},"description":"its own caps (memory MiB, CPU % of one core, processes); each left out is the hive's default"},
                "capabilities":{"type":"array","items":{"type":"string"},"description":"the kinds of work it takes, e.g. design, code, review (absent: none)"}}}}}
            """),
        new("start", "Start a stopped agent (not yourself). Needs no approval: it changes no configuration. Returns {agent} once it is done.",
            NameOnly("the agent to start")),
        new("stop", "Stop an agent (not yourself); it stays stopped until started again. Needs no approval. Returns {agent} once it is done.",
            NameOnly("the agent to stop")),
        new("restart", "Stop and start an agent (not yourself) with its current configuration. Needs no approval. Returns {agent} once it is done.",
            NameOnly("the agent to restart")),
        new("rebuild",
            "Restart an agent (not yourself) on its meta file as it is now (after an approved configuration or a meta input update). " +
            "A file the hive cannot use is refused with conflict and the agent keeps running as it was. Returns {agent} once it is done.",
            NameOnly("the agent to rebuild")),
        new("pause",
            "Pause an agent (not yourself): its running turn is told to stop, no turn is granted and its recv hands out nothing until " +
            "it is resumed. Recorded as an intervention at your authority (monitor): the operator sees it and can revert it. " +
            "Returns {agent}.",
            NameAndReason("the agent to pause", "why, shown to the operator with the intervention")),
        new("resume",
            "Resume an agent you or a lower authority paused (not yourself). A pause by the operator is not yours to lift: that is " +
            "refused with forbidden. Recorded as an intervention. Returns {agent}.",
            NameAndReason("the agent to resume", "why, shown to the operator with the intervention")),
    ];

    private static string NameAndReason(string name, string reason) =>
        new JsonObject
        {
            ["type"] = "object", ["required"] = new JsonArray("name"),
            ["properties"] = new JsonObject
            {
                ["name"] = new JsonObject { ["type"] = "string", ["description"] = name },
                ["reason"] = new JsonObject { ["type"] = "string", ["description"] = reason },
            },
        }.ToJsonString();

    private static string NameOnly(string description) =>
        new JsonObject
        {
            ["type"] = "object", ["required"] = new JsonArray("name"),
            ["properties"] = new JsonObject { ["name"] = new JsonObject { ["type"] = "string", ["description"] = description } },
        }.ToJsonString();

    private static readonly ToolSpec[] AllTools = [.. AgentTools, .. ManagerTools];

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

    private static Tool ToTool(ToolSpec spec) => new()
    {
        Name = spec.Name, Description = spec.Description, InputSchema = JsonDocument.Parse(spec.Schema).RootElement.Clone(),
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
