using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary>
/// The agents' egress, as the operator reads it: <c>net log [--agent NAME] [--limit N]</c> lists the connections an agent
/// asked its egress proxy for, refused first (target, address, decision and status, bytes each way, why), through
/// <c>GET /api/agents/{name}/net</c>; without <c>--agent</c>, every agent's, one after another.
/// </summary>
public static class NetCommands
{
    public static void AddTo(RootCommand root)
    {
        var net = new Command("net", "the agents' network: what their egress proxies let through and refused");
        net.Subcommands.Add(Log());
        root.Subcommands.Add(net);
    }

    private static Command Log()
    {
        var agent = new Option<string?>("--agent") { Description = "whose attempts (default: every agent's)" };
        var limit = new Option<int?>("--limit") { Description = "at most this many per agent, 1 to 1000 (default 100)" };
        var command = new Command("log", "the last connections agents asked their egress proxy for, refused first: target, address, decision, bytes, why")
            { agent, limit };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var names = cx.Value(agent) is { } one
                ? [one]
                : (await api.GetAsync("/api/agents", ct) as JsonArray ?? []).Select(a => Text.Str(a, "name")).OfType<string>().ToList();
            var query = cx.Value(limit) is { } n ? "?limit=" + n.ToString(CultureInfo.InvariantCulture) : "";
            var all = new JsonArray();
            foreach (var name in names)
                foreach (var row in await api.GetAsync($"/api/agents/{Uri.EscapeDataString(name)}/net{query}", ct) as JsonArray ?? [])
                    all.Add(row?.DeepClone());
            return new CliOutput(all, Table(all));
        });
        return command;
    }

    internal static string Table(JsonArray list) =>
        Text.Table(["AGENT", "AT", "TARGET", "ADDRESS", "DECISION", "OUT", "IN", "TOOK", "WHY"],
            list.Select(a => (IReadOnlyList<string?>)
            [
                Text.Str(a, "agent"), Text.Str(a, "started_at"),
                Text.Str(a, "host") is "-" or null ? "-" : $"{Text.Str(a, "method")} {Text.Str(a, "host")}:{Text.Str(a, "port")}",
                Text.Str(a, "address"), $"{Text.Str(a, "decision")} {Text.Str(a, "status")}",
                Text.Str(a, "bytes_out"), Text.Str(a, "bytes_in"),
                a?["duration_ms"] is JsonValue v && v.TryGetValue<double>(out var ms) ? ms.ToString("0", CultureInfo.InvariantCulture) + "ms" : null,
                Text.Str(a, "reason") is { } why ? Text.OneLine(why) : null,
            ]));
}
