using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// An agent's model calls through the gateway: <c>calls --agent NAME [--turn N] [--before ID] [--limit N]</c> lists them
/// newest first (model, tokens, cost, time to first byte, duration, state and status, turn), and <c>call ID</c> shows one
/// as a person reads it (the system prompt's start, the conversation's last messages with their parts, the answer);
/// with <c>--json</c>, the host's documents as they are (<c>call</c> with its raw request and response too). As the
/// operator over HTTP (<c>GET /api/agents/{name}/calls</c>, <c>GET /api/calls/{id}</c>); as an agent (<c>--socket</c> or
/// <c>$HIVE_SOCKET</c>), its own calls only, through the verbs <c>calls</c> and <c>call</c>.
/// </summary>
public static class CallsCommands
{
    private static readonly Option<bool> AsOperator = new("--as-operator")
    {
        Description = "speak as the operator over HTTP (the default when no --socket or $HIVE_SOCKET is given)",
    };

    public static void AddTo(RootCommand root)
    {
        root.Subcommands.Add(List());
        root.Subcommands.Add(Show());
    }

    private static Command List()
    {
        var agent = new Option<string?>("--agent") { Description = "whose calls (the operator: required; an agent lists its own)" };
        var turn = new Option<long?>("--turn") { Description = "only the calls of this granted turn" };
        var before = new Option<long?>("--before") { Description = "only calls older than this id (the next page: the last id shown)" };
        var limit = new Option<int?>("--limit") { Description = "at most this many, 1 to 500 (default 50)" };
        var command = new Command("calls", "an agent's model calls through the gateway, newest first: model, tokens, cost, first byte, duration, status")
            { agent, turn, before, limit, AsOperator };
        command.SetRun(async (cx, ct) =>
        {
            JsonArray list;
            if (cx.SpeaksAsAgent(AsOperator))
            {
                if (cx.Value(agent) is not null) throw new UsageError("as an agent, calls lists your own: leave out --agent (or speak --as-operator)");
                var fields = new JsonObject();
                if (cx.Value(turn) is { } t) fields["turn"] = t;
                if (cx.Value(before) is { } b) fields["before"] = b;
                if (cx.Value(limit) is { } n) fields["limit"] = n;
                await using var socket = await cx.ConnectAsync(ct);
                list = (await socket.CallAsync("calls", fields, ct))["calls"]?.DeepClone() as JsonArray ?? [];
            }
            else
            {
                var name = cx.Value(agent) ?? throw new UsageError("give --agent NAME: whose model calls to list");
                var query = new List<string>();
                void Add(string key, object? value) { if (value is not null) query.Add($"{key}={Uri.EscapeDataString(Convert.ToString(value, CultureInfo.InvariantCulture)!)}"); }
                Add("turn", cx.Value(turn));
                Add("before", cx.Value(before));
                Add("limit", cx.Value(limit));
                using var api = cx.Api();
                list = await api.GetAsync($"/api/agents/{Uri.EscapeDataString(name)}/calls" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), ct) as JsonArray ?? [];
            }
            return new CliOutput(list, Table(list));
        });
        return command;
    }

    private static Command Show()
    {
        var id = new Argument<long>("id") { Description = "the call's id (as calls lists it)" };
        var command = new Command("call", "one model call as a person reads it: the system prompt's start, the last messages, the answer (--json: with the raw bodies)")
            { id, AsOperator };
        command.SetRun(async (cx, ct) =>
        {
            JsonNode? detail;
            if (cx.SpeaksAsAgent(AsOperator))
            {
                await using var socket = await cx.ConnectAsync(ct);
                detail = (await socket.CallAsync("call", new JsonObject { ["id"] = cx.Value(id) }, ct)).DeepClone();
                if (detail is JsonObject o) o.Remove("ok");
            }
            else
            {
                using var api = cx.Api();
                detail = await api.GetAsync($"/api/calls/{cx.Value(id)}", ct);
            }
            return new CliOutput(detail, Readable(detail));
        });
        return command;
    }

    internal static string Table(JsonArray list) =>
        Text.Table(["ID", "STARTED", "MODEL", "TOKENS IN/OUT", "COST", "FIRST BYTE", "TOOK", "STATUS", "TURN", "ERROR"],
            list.Select(c => (IReadOnlyList<string?>)
            [
                Text.Str(c, "id"), Text.Str(c, "started_at"), Text.Str(c, "model"),
                $"{Long(c, "input_tokens") + Long(c, "cache_read_tokens") + Long(c, "cache_write_tokens")}/{Long(c, "output_tokens")}",
                Double(c, "cost_usd") is { } cost ? "$" + cost.ToString("0.0000", CultureInfo.InvariantCulture) : null,
                Ms(Double(c, "first_byte_ms")), Ms(Double(c, "duration_ms")),
                Text.Str(c, "state") + (Text.Str(c, "status") is { } s ? " " + s : ""),
                Text.Str(c, "turn_id"), Text.Str(c, "error"),
            ]));

    /// <summary>The call's facts, then its reading: each message a role and its parts, indented; long texts as the host cut them.</summary>
    internal static string Readable(JsonNode? detail)
    {
        var c = detail?["call"];
        var text = new StringBuilder();
        text.Append($"call #{Text.Str(c, "id")} of {Text.Str(c, "agent")}");
        if (Text.Str(c, "turn_id") is { } turn) text.Append($" in turn #{turn}");
        text.Append($": {Text.Str(c, "model") ?? "no model"} via {Text.Str(c, "provider")}, {Text.Str(c, "state")}");
        if (Text.Str(c, "status") is { } status) text.Append($" {status}");
        text.Append('\n');
        text.Append($"tokens in {Long(c, "input_tokens")} · out {Long(c, "output_tokens")} · cache read {Long(c, "cache_read_tokens")} · cache write {Long(c, "cache_write_tokens")}");
        if (Double(c, "cost_usd") is { } cost) text.Append($" · ${cost.ToString("0.0000", CultureInfo.InvariantCulture)}");
        text.Append($" · first byte {Ms(Double(c, "first_byte_ms")) ?? "-"} · took {Ms(Double(c, "duration_ms")) ?? "-"} · started {Text.Str(c, "started_at")}\n");
        if (Text.Str(c, "error") is { } error) text.Append($"error: {error}\n");
        var r = detail?["readable"];
        if (r is null)
        {
            text.Append("(its bodies were not recorded, or are gone)\n");
            return text.ToString();
        }
        if (Text.Str(r, "system") is { } system) text.Append("\nsystem:\n").Append(Indent(system, "  "));
        var messages = r["last_messages"] as JsonArray ?? [];
        text.Append($"\nconversation: {Long(r, "message_count")} message(s)" + (Long(r, "message_count") > messages.Count ? $", the last {messages.Count}:\n" : ":\n"));
        foreach (var m in messages) Message(text, m);
        text.Append("\nanswer" + (Text.Str(r, "stop_reason") is { } stop ? $" ({stop})" : "") + ":\n");
        if (r["answer"] is { } answer) Message(text, answer);
        else text.Append("  (none)\n");
        return text.ToString();
    }

    private static void Message(StringBuilder text, JsonNode? m)
    {
        text.Append($"  [{Text.Str(m, "role")}]\n");
        foreach (var p in m?["parts"] as JsonArray ?? [])
        {
            var kind = Text.Str(p, "kind");
            var label = kind switch
            {
                "tool_use" => $"tool call {Text.Str(p, "name")}",
                "tool_result" => Text.Str(p, "name") == "error" ? "tool result (error)" : "tool result",
                _ => kind,
            };
            text.Append($"    {label}:\n").Append(Indent(Text.Str(p, "text") ?? "", "      "));
        }
    }

    private static string Indent(string s, string by) =>
        string.Concat(s.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n').Select(line => by + line + "\n"));

    private static long Long(JsonNode? node, string name) => node?[name] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;

    private static double? Double(JsonNode? node, string name) => node?[name] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    private static string? Ms(double? ms) => ms switch
    {
        null => null,
        >= 1000 => (ms.Value / 1000).ToString("0.0", CultureInfo.InvariantCulture) + "s",
        _ => ms.Value.ToString("0", CultureInfo.InvariantCulture) + "ms",
    };
}
