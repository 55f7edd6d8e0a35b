using System.CommandLine;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary><c>approvals</c>: what the manager asked for (spawns, destroys, config commits), and the operator's decision.</summary>
public static class ApprovalsCommands
{
    public static void AddTo(RootCommand root)
    {
        var all = new Option<bool>("--all") { Description = "decided ones too, not only pending" };
        var approvals = new Command("approvals", "approvals waiting for the operator (alone: list them)") { all };
        approvals.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var list = await api.GetAsync($"/api/approvals?status={(cx.Value(all) ? "all" : "pending")}", ct) as JsonArray ?? [];
            return new CliOutput(list, Text.Table(["ID", "KIND", "AGENT", "REQUESTER", "STATUS", "CREATED", "REASON"],
                list.Select(a => (IReadOnlyList<string?>)
                [
                    Text.Str(a, "id"), Text.Str(a, "kind"), Text.Str(a, "agent"), Text.Str(a, "requester"), Text.Str(a, "status"),
                    Text.Str(a, "created_at"), Text.Str(a, "reason"),
                ])));
        });
        approvals.Subcommands.Add(Decide("approve"));
        approvals.Subcommands.Add(Decide("deny"));
        root.Subcommands.Add(approvals);
    }

    private static Command Decide(string decision)
    {
        var id = new Argument<long>("id") { Description = "the approval's id" };
        var reason = new Option<string?>("--reason") { Description = "why (told to the requester)" };
        var command = new Command(decision, $"{decision} an approval") { id, reason };
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var body = cx.Value(reason) is { } r ? new JsonObject { ["reason"] = r } : new JsonObject();
            var decided = await api.PostAsync($"/api/approvals/{cx.Value(id)}/{decision}", body, ct);
            return new CliOutput(decided, $"approval #{Text.Str(decided, "id")} ({Text.Str(decided, "kind")} {Text.Str(decided, "agent")}): {Text.Str(decided, "status")}");
        });
        return command;
    }
}
