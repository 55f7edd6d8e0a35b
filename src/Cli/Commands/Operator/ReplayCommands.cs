using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// Replays of recorded turns, as the operator over HTTP: <c>replay TURN [--into NAME] [--on-divergence stop|live] [--env
/// KEY=VALUE]... [--preset-file F]</c> starts one (<c>POST /api/turns/{id}/replay</c>) and, unless <c>--no-wait</c>, follows it
/// until it ends, then shows how it went: identical, or where it diverged and what differed, and the hive verbs it captured;
/// <c>replay --agent NAME [--last N]</c> replays its last turns so (<see cref="PromptRegression"/>);
/// <c>replays [ID] [--agent NAME]</c> lists them, or shows one.
/// </summary>
public static class ReplayCommands
{
    public static void AddTo(RootCommand root)
    {
        root.Subcommands.Add(Replay());
        root.Subcommands.Add(Replays());
        root.Subcommands.Add(Fork());
    }

    private static Command Fork()
    {
        var agent = new Argument<string>("agent") { Description = "the agent whose conversation is forked" };
        var atTurn = new Option<long>("--at-turn") { Description = "the turn (its id) whose end the fork starts from", Required = true };
        var model = new Option<string?>("--model") { Description = "the model the fork's turns use" };
        var name = new Option<string?>("--name") { Description = "the fork's name (default AGENT-fork-TURN)" };
        var message = new Option<string?>("--message") { Description = "the fork's next message, from you (default: the messages that woke the original's next turn)" };
        var command = new Command("fork", "fork a conversation at a turn: a new agent with the original's configuration, its next turn live on another model or message")
            { agent, atTurn, model, name, message };
        command.SetRun(async (cx, ct) =>
        {
            var body = new JsonObject { ["at_turn"] = cx.Value(atTurn) };
            if (cx.Value(model) is { } m) body["model"] = m;
            if (cx.Value(name) is { } n) body["name"] = n;
            if (cx.Value(message) is { } text) body["message"] = text;
            using var api = cx.Api();
            var fork = await api.PostAsync($"/api/agents/{Uri.EscapeDataString(cx.Value(agent)!)}/fork", body, ct);
            return new CliOutput(fork, $"{Text.Str(fork, "agent")}: a fork of {Text.Str(fork, "source_agent")} at the end of turn #{Text.Str(fork, "source_turn")}" +
                (Text.Str(fork, "model") is { } on ? $", on {on}" : "") + "\n");
        });
        return command;
    }

    private static Command Replay()
    {
        var turn = new Argument<long?>("turn") { Description = "the granted turn's id (as the agent's turns and calls show it)", Arity = ArgumentArity.ZeroOrOne };
        var into = new Option<string?>("--into") { Description = "the replay agent's name (default AGENT-replay-TURN)" };
        var onDivergence = new Option<string?>("--on-divergence") { Description = "at the first call that differs: stop (default) or live (go on with the live model, spending)" };
        var env = new Option<string[]>("--env") { Description = "KEY=VALUE laid over the original's environment (repeatable): a changed setting to try against the recording" };
        var presetFile = new Option<string?>("--preset-file") { Description = "a preset file (JSON, as in presets/) whose command and env replace the original's" };
        var agent = new Option<string?>("--agent") { Description = "replay this agent's last turns instead of one (a prompt regression: writes a report)" };
        var last = new Option<int?>("--last") { Description = "with --agent: how many of its last recorded turns (default 20)" };
        var report = new Option<string?>("--report") { Description = "with --agent: the report's path without extension (writes .md and .json; default replay-AGENT-TIME)" };
        var noWait = new Option<bool>("--no-wait") { Description = "start it and return at once" };
        var timeout = new Option<int?>("--timeout") { Description = "seconds to follow a replay before giving up (default 600)" };
        var command = new Command("replay", "replay a recorded turn offline (or an agent's last turns, with --agent): a sealed agent of its own, answered from the recording, its hive verbs captured")
            { turn, into, onDivergence, env, presetFile, agent, last, report, noWait, timeout };
        command.SetRun(async (cx, ct) =>
        {
            var pairs = cx.Value(env) is { Length: > 0 } given ? OptionValues.Pairs(given, "--env", "KEY=VALUE") : null;
            using var api = cx.Api();
            if (cx.Value(agent) is { } regressed)
            {
                if (cx.Value(turn) is not null || cx.Value(into) is not null || cx.Value(noWait))
                    throw new UsageError("--agent replays its last turns: give no TURN, --into or --no-wait with it");
                return await PromptRegression.RunAsync(api, new PromptRegression.Settings(regressed, cx.Value(last) ?? 20, cx.Value(presetFile), pairs,
                    cx.Value(onDivergence), TimeSpan.FromSeconds(cx.Value(timeout) ?? 600), cx.Value(report)), ct);
            }
            if (cx.Value(turn) is not { } turnId) throw new UsageError("replay takes a TURN, or --agent NAME for its last turns");
            if (cx.Value(last) is not null || cx.Value(report) is not null) throw new UsageError("--last and --report go with --agent");
            var body = new JsonObject();
            if (cx.Value(into) is { } name) body["into"] = name;
            if (cx.Value(onDivergence) is { } mode) body["on_divergence"] = mode;
            if (pairs is not null) body["env"] = pairs;
            if (cx.Value(presetFile) is { } file) body["preset"] = PromptRegression.PresetOf(file);
            var replay = await api.PostAsync($"/api/turns/{turnId}/replay", body, ct);
            if (!cx.Value(noWait))
            {
                var id = Text.Str(replay, "id");
                var until = DateTimeOffset.UtcNow.AddSeconds(cx.Value(timeout) ?? 600);
                while (Text.Str(replay, "state") == "running")
                {
                    if (DateTimeOffset.UtcNow > until) throw new CliError("timeout", $"replay {id} is still running; follow it with: hivectl replays {id}");
                    await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
                    replay = await api.GetAsync($"/api/replays/{id}", ct);
                }
            }
            return new CliOutput(replay, Readable(replay));
        });
        return command;
    }

    private static Command Replays()
    {
        var id = new Argument<long?>("id") { Description = "one replay's id (leave out to list them)", Arity = ArgumentArity.ZeroOrOne };
        var agent = new Option<string?>("--agent") { Description = "only replays of this agent's turns (or by this replay agent)" };
        var command = new Command("replays", "replays of recorded turns, newest first, or one with its divergence and captured verbs") { id, agent };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            if (cx.Value(id) is { } one)
            {
                var replay = await api.GetAsync($"/api/replays/{one}", ct);
                return new CliOutput(replay, Readable(replay));
            }
            var path = "/api/replays" + (cx.Value(agent) is { } a ? "?agent=" + Uri.EscapeDataString(a) : "");
            var list = await api.GetAsync(path, ct) as JsonArray ?? [];
            return new CliOutput(list, Text.Table(["ID", "TURN", "OF", "BY", "STATE", "CALLS", "CAPTURED", "CREATED"],
                list.Select(r => (IReadOnlyList<string?>)
                [
                    Text.Str(r, "id"), Text.Str(r, "source_turn"), Text.Str(r, "source_agent"), Text.Str(r, "agent"), Text.Str(r, "state"),
                    $"{Text.Str(r, "calls_replayed")}/{Text.Str(r, "calls_recorded")}", (r?["captured"] as JsonArray)?.Count.ToString(CultureInfo.InvariantCulture),
                    Text.Str(r, "created_at"),
                ])));
        });
        return command;
    }

    /// <summary>How a replay went: its state and calls, where it diverged (each difference, a text's changed lines indented), what it captured.</summary>
    internal static string Readable(JsonNode? replay)
    {
        var text = new StringBuilder();
        text.Append($"replay #{Text.Str(replay, "id")} of turn #{Text.Str(replay, "source_turn")} of {Text.Str(replay, "source_agent")} by {Text.Str(replay, "agent")}: ");
        text.Append($"{Text.Str(replay, "state")}, {Text.Str(replay, "calls_replayed")} of {Text.Str(replay, "calls_recorded")} recorded calls answered");
        if (Text.Str(replay, "on_divergence") == "live") text.Append(" (live at a divergence)");
        text.Append('\n');
        if (Text.Str(replay, "note") is { } note) text.Append($"note: {note}\n");
        if (replay?["divergence"] is JsonObject divergence)
        {
            text.Append($"diverged at call {Text.Str(divergence, "call")}");
            if (Text.Str(divergence, "recorded_call_id") is { } recorded && recorded != "0") text.Append($" (compared with recorded call #{recorded})");
            text.Append(":\n");
            foreach (var difference in divergence["differences"] as JsonArray ?? [])
            {
                text.Append($"  {Text.Str(difference, "path")}: ");
                if (difference?["lines"] is JsonArray lines)
                {
                    text.Append('\n');
                    foreach (var line in lines) text.Append($"    {line?.GetValue<string>()}\n");
                }
                else
                {
                    text.Append($"recorded {Text.Str(difference, "recorded") ?? "(none)"} · replayed {Text.Str(difference, "replayed") ?? "(none)"}\n");
                }
            }
        }
        var captured = replay?["captured"] as JsonArray ?? [];
        text.Append(captured.Count == 0 ? "captured: no hive verbs\n" : $"captured (not carried out), {captured.Count}:\n");
        foreach (var verb in captured) text.Append($"  {Text.Str(verb, "verb")} {verb?["args"]?.ToJsonString()}\n");
        return text.ToString();
    }
}
