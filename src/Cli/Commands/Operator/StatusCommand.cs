using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary><c>status</c>: the agents of <c>/api/state</c> with their state, pending reminders and what they wait on.</summary>
public static class StatusCommand
{
    public static void AddTo(RootCommand root)
    {
        var command = new Command("status", "the hive at a glance: agents, their state, pending reminders, waiting, last turn");
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var state = await api.GetAsync("/api/state", ct) ?? new JsonObject();
            var agents = state["agents"] as JsonArray ?? [];
            var text = new StringBuilder(Text.Table(
                ["AGENT", "KIND", "DRIVER", "STATE", "DESIRED", "REMINDERS", "WAITING ON", "LAST TURN"],
                agents.Select(a => (IReadOnlyList<string?>)
                [
                    Text.Str(a, "name"), Text.Str(a, "kind"), Text.Str(a, "driver"),
                    Text.Str(a, "transient") is { } t ? $"{Text.Str(a, "state")} ({t})" : Text.Str(a, "state"),
                    Text.Str(a, "desired"), Text.Str(a, "pending_reminders"),
                    Text.Str(a, "waiting_on") is { } w ? $"{w} since {Text.Str(a, "waiting_since")}" : null,
                    Text.Str(a, "last_turn_at") is { } at ? Text.Str(a, "last_result") is { } result ? $"{at} ({result})" : at : null,
                ])));
            var summary = new List<string>();
            if (Text.Str(state, "reminders_total") is { } reminders) summary.Add($"{reminders} reminder(s) pending");
            if (state["questions"]?["pending_total"] is { } questions) summary.Add($"{questions} question(s) open");
            if (state["approvals"] is JsonArray approvals) summary.Add($"{approvals.Count(a => Text.Str(a, "status") == "pending")} approval(s) pending");
            if (summary.Count > 0) text.Append(string.Join(" · ", summary)).Append('\n');
            return new CliOutput(state, text.ToString());
        });
        root.Subcommands.Add(command);
    }
}
