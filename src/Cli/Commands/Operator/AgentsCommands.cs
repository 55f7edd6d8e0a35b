using System.CommandLine;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary><c>agents</c>: list, create, start, stop, restart, destroy, and read or follow an agent's logs.</summary>
public static class AgentsCommands
{
    public static void AddTo(RootCommand root)
    {
        var capability = new Option<string?>("--capability") { Description = "list only the agents having this capability (e.g. review)" };
        var agents = new Command("agents", "the hive's agents (alone: list them)") { capability };
        agents.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var path = cx.Value(capability) is { } having ? $"/api/agents?capability={Uri.EscapeDataString(having)}" : "/api/agents";
            var list = await api.GetAsync(path, ct) as JsonArray ?? [];
            return new CliOutput(list, Table(list));
        });
        agents.Subcommands.Add(Create());
        foreach (var action in new[] { "start", "stop", "restart" }) agents.Subcommands.Add(Lifecycle(action));
        agents.Subcommands.Add(Destroy());
        agents.Subcommands.Add(Logs());
        root.Subcommands.Add(agents);
    }

    internal static string Table(JsonArray list) => Text.Table(
        ["AGENT", "KIND", "DRIVER", "STATE", "DESIRED", "PID", "RESTARTS", "CAPABILITIES", "COMMAND"],
        list.Select(a => (IReadOnlyList<string?>)
        [
            Text.Str(a, "name"), Text.Str(a, "kind"), Text.Str(a, "driver"), Text.Str(a, "state"), Text.Str(a, "desired"),
            Text.Str(a, "pid"), Text.Str(a, "restarts"),
            a?["capabilities"] is JsonArray { Count: > 0 } caps ? string.Join(',', caps.Select(x => x?.ToString())) : null,
            a?["command"] is JsonArray argv ? string.Join(' ', argv.Select(x => x?.ToString())) : null,
        ]));

    internal static string Row(JsonNode? agent) =>
        $"{Text.Str(agent, "name")}: {Text.Str(agent, "state")} (desired {Text.Str(agent, "desired")}, driver {Text.Str(agent, "driver")}" +
        (Text.Str(agent, "pid") is { } pid ? $", pid {pid})" : ")");

    private static Command Create()
    {
        var name = new Argument<string>("name") { Description = "the agent's name (^[a-z][a-z0-9-]{0,30}$)" };
        var argv = new Argument<string[]>("command") { Description = "the program and its arguments, after --", Arity = ArgumentArity.ZeroOrMore };
        var external = new Option<bool>("--external") { Description = "register it only: Hive keeps its socket, you run it" };
        var driver = new Option<string?>("--driver") { Description = "process, bubblewrap or nixos-container (default: the hive's)" };
        var purpose = new Option<string?>("--purpose") { Description = "what the agent is for" };
        var env = new Option<string[]>("--env") { Description = "KEY=VALUE for its environment (repeatable)" };
        var mounts = new Option<string[]>("--mount") { Description = "a host path the sandbox shows it, read-only (repeatable)" };
        var preset = new Option<string?>("--preset") { Description = "make it from a preset instead of a command (e.g. claude-code; GET /api/presets lists them)" };
        var secrets = new Option<string[]>("--secret") { Description = "VAR=SECRET: set VAR in its environment from the hive's secret SECRET (repeatable)" };
        var provider = new Option<string?>("--provider") { Description = "the model provider it counts against (default: the preset's, else anthropic)" };
        var memory = new Option<long?>("--memory-mib") { Description = "its own memory cap in MiB (default: the hive's Hive:Containers:Limits:MemoryMiB)" };
        var cpu = new Option<long?>("--cpu-percent") { Description = "its own CPU cap in % of one core (default: the hive's)" };
        var pids = new Option<long?>("--pids") { Description = "its own cap on processes and threads (default: the hive's)" };
        var capabilities = new Option<string[]>("--capability") { Description = "a kind of work it takes, e.g. design, code, review (repeatable)" };
        var command = new Command("create", "create an agent and start it: agents create NAME -- COMMAND... | --preset NAME | --external")
            { name, argv, external, driver, purpose, env, mounts, preset, secrets, provider, memory, cpu, pids, capabilities };
        command.SetRun(async (cx, ct) =>
        {
            var program = cx.Value(argv) ?? [];
            var isExternal = cx.Value(external);
            var fromPreset = cx.Value(preset);
            if (new[] { isExternal, program.Length > 0, fromPreset is not null }.Count(given => given) != 1)
                throw new UsageError("give one of -- COMMAND..., --preset NAME or --external");
            if (isExternal && cx.Value(driver) is { } d && d != "external") throw new UsageError("--external takes no --driver");
            var body = new JsonObject { ["name"] = cx.Value(name) };
            if (isExternal) body["driver"] = "external";
            else
            {
                if (fromPreset is not null) body["preset"] = fromPreset;
                else body["command"] = new JsonArray(program.Select(a => (JsonNode?)a).ToArray());
                if (cx.Value(driver) is { } dr) body["driver"] = dr;
            }
            if (cx.Value(secrets) is { Length: > 0 } refs) body["secrets"] = OptionValues.Pairs(refs, "--secret", "VAR=SECRET");
            if (cx.Value(purpose) is { } p) body["purpose"] = p;
            if (cx.Value(provider) is { } pv) body["provider"] = pv;
            if (cx.Value(capabilities) is { Length: > 0 } kinds) body["capabilities"] = OptionValues.Array(kinds); // checked by the host
            var limits = new JsonObject();
            if (cx.Value(memory) is { } m) limits["memory_mib"] = m;
            if (cx.Value(cpu) is { } c) limits["cpu_percent"] = c;
            if (cx.Value(pids) is { } n) limits["pids"] = n;
            if (limits.Count > 0) body["limits"] = limits; // checked by the host, which names the bounds
            if (cx.Value(mounts) is { Length: > 0 } paths) body["mounts"] = OptionValues.Array(paths);
            if (cx.Value(env) is { Length: > 0 } pairs) body["env"] = OptionValues.Pairs(pairs, "--env", "KEY=VALUE");
            using var api = cx.Api();
            var row = await api.PostAsync("/api/agents", body, ct);
            return new CliOutput(row, "created " + Row(row));
        });
        return command;
    }

    private static Command Lifecycle(string action)
    {
        var name = new Argument<string>("name") { Description = "the agent" };
        var command = new Command(action, $"{action} an agent (answers once it is done)") { name };
        // Restart has no subtree form: a subtree's stop ends its members together, so a restart of one is its stop, then its start.
        var subtree = new Option<bool>("--subtree") { Description = $"{action} the agent and everything under it, as one thing" };
        if (action != "restart") command.Options.Add(subtree);
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var path = $"/api/agents/{Uri.EscapeDataString(cx.Value(name)!)}/{action}";
            if (action != "restart" && cx.Value(subtree))
            {
                var reply = await api.PostAsync(path + "?subtree=true", null, ct);
                return new CliOutput(reply, SubtreeText(reply));
            }
            var row = await api.PostAsync(path, null, ct);
            return new CliOutput(row, Row(row));
        });
        return command;
    }

    /// <summary>A subtree's stop or start: what it did, and what it left alone with why.</summary>
    private static string SubtreeText(JsonNode? reply)
    {
        var done = (reply?["agents"] as JsonArray ?? []).Select(a => a?.GetValue<string>()).ToList();
        var verb = reply?["action"]?.GetValue<string>() == "stop" ? "stopped" : "running";
        var lines = new List<string> { $"{verb}: {(done.Count == 0 ? "none" : string.Join(", ", done))}" };
        foreach (var skipped in reply?["skipped"] as JsonArray ?? [])
            lines.Add($"skipped {skipped?["name"]?.GetValue<string>()}: {skipped?["reason"]?.GetValue<string>()}");
        return string.Join('\n', lines);
    }

    private static Command Destroy()
    {
        var name = new Argument<string>("name") { Description = "the agent" };
        var command = new Command("destroy", "stop an agent, drop its socket, keep its state dir as a tombstone") { name };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            await api.DeleteAsync($"/api/agents/{Uri.EscapeDataString(cx.Value(name)!)}", ct);
            return new CliOutput(CliOutput.Ok(new JsonObject { ["name"] = cx.Value(name) }), $"destroyed {cx.Value(name)}");
        });
        return command;
    }

    private static Command Logs()
    {
        var name = new Argument<string>("name") { Description = "the agent" };
        var tail = new Option<int>("--tail") { Description = "how many last lines (at most 10000)", DefaultValueFactory = _ => 100 };
        var follow = new Option<bool>("--follow", "-f") { Description = "keep printing new lines as they come, until Ctrl-C" };
        var interval = new Option<double>("--interval") { Description = "with -f, seconds between polls", DefaultValueFactory = _ => 0.5 };
        var command = new Command("logs", "an agent's stdout and stderr") { name, tail, follow, interval };
        command.SetRun(async (cx, ct) =>
        {
            var lines = cx.Value(tail);
            if (lines is < 1 or > 10_000) throw new UsageError("--tail must be 1 to 10000");
            var path = $"/api/agents/{Uri.EscapeDataString(cx.Value(name)!)}/logs?tail=";
            using var api = cx.Api();
            var text = await api.GetTextAsync(path + lines, ct);
            if (!cx.Value(follow))
                return new CliOutput(CliOutput.Ok(new JsonObject { ["name"] = cx.Value(name), ["text"] = text }), text);

            // Follow: poll the tail and print what grew. The route serves the last lines only, so what is new is what
            // follows the longest run of lines already printed.
            var seen = Split(text);
            Emit(cx, seen);
            var pause = TimeSpan.FromSeconds(Math.Max(0.05, cx.Value(interval)));
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(pause, ct);
                var now = Split(await api.GetTextAsync(path + 1000, ct));
                var fresh = NewLines(seen, now);
                Emit(cx, fresh);
                seen = now;
            }
            return CliOutput.Streamed;
        });
        return command;
    }

    private static List<string> Split(string text)
    {
        var lines = text.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    /// <summary>
    /// The lines of <paramref name="now"/> after the last place where the end of <paramref name="before"/> stands in it (the
    /// longest such end first). <paramref name="now"/> may reach further back than <paramref name="before"/> did (a
    /// <c>--tail 2</c> followed by polls of 1000 lines), so the match is searched for anywhere, latest first.
    /// </summary>
    internal static List<string> NewLines(List<string> before, List<string> now)
    {
        for (var overlap = Math.Min(before.Count, now.Count); overlap > 0; overlap--)
        {
            var end = before.Skip(before.Count - overlap).ToList();
            for (var stop = now.Count; stop >= overlap; stop--)
                if (now.Skip(stop - overlap).Take(overlap).SequenceEqual(end)) return now.Skip(stop).ToList();
        }
        return now;
    }

    private static void Emit(CliContext cx, List<string> lines)
    {
        foreach (var line in lines)
            cx.Out.WriteLine(cx.Json ? new JsonObject { ["line"] = line }.ToJsonString() : line);
        cx.Out.Flush();
    }
}
