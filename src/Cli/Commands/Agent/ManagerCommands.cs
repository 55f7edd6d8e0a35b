using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Cli.Commands.Operator;
using Hive.Contracts.Agents;

namespace Hive.Cli.Commands.Agent;

/// <summary>
/// The manager's commands, one socket verb each (DESIGN.md, "Containers"): <c>request-spawn</c>, <c>request-destroy</c>,
/// <c>propose-config</c> (the operator approves each), <c>list-agents</c>, and <c>start</c>, <c>stop</c>, <c>restart</c>,
/// <c>rebuild</c> (done at once). Like every socket verb they stand at the root, named after the verb, and speak on the
/// socket of <c>--socket</c> or <c>$HIVE_SOCKET</c>: they work on the manager's socket only, and the hive answers
/// <c>forbidden</c> on any other (this client then says whose socket it was). The operator's own lifecycle commands are
/// <c>agents start|stop|restart NAME</c>, over HTTP; the two never parse alike.
/// </summary>
public static class ManagerCommands
{
    public static void AddTo(RootCommand root)
    {
        root.Subcommands.Add(RequestSpawn());
        root.Subcommands.Add(RequestDestroy());
        root.Subcommands.Add(ProposeConfig());
        root.Subcommands.Add(ListAgents());
        root.Subcommands.Add(Lifecycle("start", "start an agent"));
        root.Subcommands.Add(Lifecycle("stop", "stop an agent"));
        root.Subcommands.Add(Lifecycle("restart", "restart an agent"));
        root.Subcommands.Add(Lifecycle("rebuild", "restart an agent on its meta file as it is now"));
    }

    private static Command RequestSpawn()
    {
        var name = new Argument<string>("name") { Description = "the new agent's name (^[a-z][a-z0-9-]{0,30}$)" };
        var argv = new Argument<string[]>("command")
        { Description = "the program and its arguments, after -- (default: the preset's, else the hive's default command)", Arity = ArgumentArity.ZeroOrMore };
        var purpose = new Option<string?>("--purpose") { Description = "what the agent is for (the operator reads it)" };
        var driver = new Option<string?>("--driver") { Description = "process, bubblewrap or nixos-container (default: the hive's)" };
        var preset = new Option<string?>("--preset") { Description = "a preset the hive knows (e.g. claude-code)" };
        var env = new Option<string[]>("--env") { Description = "KEY=VALUE for its environment (repeatable)" };
        var secrets = new Option<string[]>("--secret") { Description = "VAR=SECRETNAME: the operator's secret SECRETNAME in its environment as VAR (repeatable)" };
        var mounts = new Option<string[]>("--mount") { Description = "a host path the sandbox shows it, read-only (repeatable)" };
        var provider = new Option<string?>("--provider") { Description = "the model provider it counts against (default: the preset's, else anthropic)" };
        var capabilities = new Option<string[]>("--capability") { Description = "a kind of work it takes, e.g. design, code, review (repeatable)" };
        var command = new Command("request-spawn",
            "manager: ask the operator for a new agent (an approval; the manager is told the decision): request-spawn NAME --purpose P [-- COMMAND...]")
            { name, argv, purpose, driver, preset, env, secrets, mounts, provider, capabilities };
        var rest = VerbOptions.AddTo(command, ManagerVerbs.RequestSpawn,
            "name", "purpose", "command", "driver", "preset", "env", "secrets", "mounts", "provider", "capabilities");
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["name"] = cx.Value(name) };
            if (cx.Value(purpose) is { } p) fields["purpose"] = p;
            if (cx.Value(argv) is { Length: > 0 } program) fields["command"] = OptionValues.Array(program);
            if (cx.Value(driver) is { } d) fields["driver"] = d;
            if (cx.Value(preset) is { } pr) fields["preset"] = pr;
            if (cx.Value(env) is { Length: > 0 } vars) fields["env"] = OptionValues.Pairs(vars, "--env", "KEY=VALUE");
            if (cx.Value(secrets) is { Length: > 0 } slots) fields["secrets"] = OptionValues.Pairs(slots, "--secret", "VAR=SECRETNAME");
            if (cx.Value(mounts) is { Length: > 0 } paths) fields["mounts"] = OptionValues.Array(paths);
            if (cx.Value(provider) is { } pv) fields["provider"] = pv;
            if (cx.Value(capabilities) is { Length: > 0 } kinds) fields["capabilities"] = OptionValues.Array(kinds);
            rest.Fill(cx.Parse, fields);
            var reply = await CallAsync(cx, "request-spawn", "request_spawn", fields, ct);
            return new CliOutput(reply, $"spawn of {cx.Value(name)} requested: approval #{Text.Str(reply, "approval_id")} waits for the operator");
        });
        return command;
    }

    private static Command RequestDestroy()
    {
        var name = new Argument<string>("name") { Description = "the agent" };
        var reason = new Option<string?>("--reason") { Description = "why (the operator reads it; the hive requires one)" };
        var command = new Command("request-destroy", "manager: ask the operator to destroy an agent (an approval; its state dir stays as a tombstone)")
            { name, reason };
        var rest = VerbOptions.AddTo(command, ManagerVerbs.RequestDestroy, "name", "reason");
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["name"] = cx.Value(name) };
            if (cx.Value(reason) is { } r) fields["reason"] = r;
            rest.Fill(cx.Parse, fields);
            var reply = await CallAsync(cx, "request-destroy", "request_destroy", fields, ct);
            return new CliOutput(reply, $"destroy of {cx.Value(name)} requested: approval #{Text.Str(reply, "approval_id")} waits for the operator");
        });
        return command;
    }

    private static Command ProposeConfig()
    {
        var name = new Argument<string>("name") { Description = "the agent" };
        var file = new Option<string>("--file")
        {
            Description = "a JSON object: the agent's whole new configuration (command, driver, env, purpose, restart, mounts, inputs, " +
                          "allowed_recipients, secrets, provider, limits, capabilities; omitted fields take their defaults); - reads it from stdin",
            Required = true,
        };
        var command = new Command("propose-config",
            "manager: propose a new configuration for an agent (an approval showing the diff; approved, the agent is rebuilt on it)") { name, file };
        command.SetRun(async (cx, ct) =>
        {
            var config = await ReadConfigAsync(cx.Value(file)!, ct);
            var reply = await CallAsync(cx, "propose-config", "propose_config", new JsonObject { ["name"] = cx.Value(name), ["config"] = config }, ct);
            return new CliOutput(reply, $"configuration for {cx.Value(name)} proposed: approval #{Text.Str(reply, "approval_id")} waits for the operator");
        });
        return command;
    }

    /// <summary>The configuration file (or stdin for <c>-</c>): one JSON object, else a failure that says what was wrong.</summary>
    private static async Task<JsonObject> ReadConfigAsync(string path, CancellationToken ct)
    {
        string text;
        try
        {
            if (path == "-")
            {
                using var stdin = new StreamReader(Console.OpenStandardInput());
                text = await stdin.ReadToEndAsync(ct);
            }
            else text = await File.ReadAllTextAsync(path, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliError(e is FileNotFoundException or DirectoryNotFoundException ? "not_found" : "failed", $"cannot read {path}: {e.Message}");
        }
        var where = path == "-" ? "stdin" : path;
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new CliError("validation", $"{where} must hold a JSON object (the configuration)");
        }
        catch (JsonException e)
        {
            throw new CliError("validation", $"{where} is not JSON: {e.Message}");
        }
    }

    private static Command ListAgents()
    {
        var capability = new Option<string?>("--capability") { Description = "only the agents having this capability (e.g. review)" };
        var command = new Command("list-agents", "manager: every agent of the hive, with its state") { capability };
        command.SetRun(async (cx, ct) =>
        {
            var fields = cx.Value(capability) is { } having ? new JsonObject { ["capability"] = having } : null;
            var reply = await CallAsync(cx, "list-agents", "list_agents", fields, ct);
            return new CliOutput(reply, AgentsCommands.Table(reply["agents"] as JsonArray ?? []));
        });
        return command;
    }

    private static Command Lifecycle(string verb, string what)
    {
        var name = new Argument<string>("name") { Description = "the agent (never the manager itself)" };
        var operatorForm = verb == "rebuild" ? "" : $"; the operator's is: agents {verb} NAME";
        var command = new Command(verb, $"manager: {what}, over the manager's socket (answers once it is done{operatorForm})") { name };
        command.SetRun(async (cx, ct) =>
        {
            var reply = await CallAsync(cx, verb, verb, new JsonObject { ["name"] = cx.Value(name) }, ct);
            return new CliOutput(reply, AgentsCommands.Row(reply["agent"]));
        });
        return command;
    }

    /// <summary>
    /// One manager verb on the socket. Without a socket it is a usage error that names the operator's form; a
    /// <c>forbidden</c> from another agent's socket says whose socket it was, so the refusal is not read as a missing right.
    /// </summary>
    private static async Task<JsonObject> CallAsync(CliContext cx, string command, string op, JsonObject? fields, CancellationToken ct)
    {
        string path;
        try
        {
            path = cx.SocketPath;
        }
        catch (UsageError)
        {
            var operatorForm = op is "start" or "stop" or "restart" ? $" (the operator's is: hivectl agents {op} NAME)" : "";
            throw new UsageError($"{command} is the manager's, over its socket: give --socket PATH or set HIVE_SOCKET{operatorForm}");
        }
        await using var socket = await HiveSocketClient.ConnectAsync(path, ct);
        try
        {
            return await socket.CallAsync(op, fields, ct);
        }
        catch (CliError e) when (e.Code == "forbidden")
        {
            string? owner = null;
            try
            {
                owner = Text.Str(await socket.CallAsync("whoami", ct: ct), "name");
            }
            catch (CliError)
            {
                // the first refusal stands on its own
            }
            if (owner is null or "manager") throw;
            throw new CliError(e.Code, $"{e.Message}: {path} is {owner}'s socket, and {command} works only on the manager's");
        }
    }
}
