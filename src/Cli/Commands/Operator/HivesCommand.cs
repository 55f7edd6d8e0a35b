using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary><c>hives</c>: the constellation from <c>/api/constellation</c>: every hive heard from, and this one's outbox.</summary>
public static class HivesCommand
{
    public static void AddTo(RootCommand root)
    {
        var command = new Command("hives", "the constellation: the hives this one hears from, reachable or not, and its outbox");
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var view = await api.GetAsync("/api/constellation", ct) ?? new JsonObject();
            if (view["enabled"]?.GetValue<bool>() != true)
                return new CliOutput(view, "this hive is alone: no constellation is configured (Hive:Constellation:Name)\n");
            var hives = view["hives"] as JsonArray ?? [];
            var text = new StringBuilder(Text.Table(
                ["HIVE", "REACHABLE", "AGENTS", "OUTBOX", "INBOX LAG", "LAST HEARD", "DASHBOARD"],
                hives.Select(h => (IReadOnlyList<string?>)
                [
                    h?["own"]?.GetValue<bool>() == true ? $"{Text.Str(h, "name")} (this)" : Text.Str(h, "name"),
                    h?["reachable"]?.GetValue<bool>() == true ? "yes" : "no",
                    Text.Str(h, "agents"), Text.Str(h, "outbox_depth"), Text.Str(h, "inbox_lag"), Text.Str(h, "last_heard_at"), Text.Str(h, "public_url"),
                ])));
            var status = view["status"];
            var down = (status?["links"] as JsonObject ?? []).Where(l => l.Value is not null).Select(l => l.Key).ToList();
            text.Append($"outbox {Text.Str(status, "outbox_depth")}{(status?["outbox_alert"]?.GetValue<bool>() == true ? " (backed up)" : "")}")
                .Append($" · dead letters {Text.Str(status, "dead_letters")}")
                .Append(down.Count == 0 ? " · broker connected" : $" · broker unreachable ({string.Join(", ", down)})").Append('\n');
            return new CliOutput(view, text.ToString());
        });
        root.Subcommands.Add(command);
    }
}
