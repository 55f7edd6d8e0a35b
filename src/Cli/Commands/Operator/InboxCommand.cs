using System.CommandLine;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Operator;

/// <summary><c>inbox</c>: the messages agents sent to the operator, newest first.</summary>
public static class InboxCommand
{
    public static void AddTo(RootCommand root)
    {
        var command = new Command("inbox", "messages to the operator, newest first");
        command.SetRun(async (cx, ct) =>
        {
            using var api = cx.Api();
            var list = await api.GetAsync("/api/inbox", ct) as JsonArray ?? [];
            return new CliOutput(list, Text.Table(["ID", "FROM", "KIND", "SENT", "BODY"],
                list.Select(m => (IReadOnlyList<string?>)
                    [Text.Str(m, "id"), Text.Str(m, "from"), Text.Str(m, "kind"), Text.Str(m, "sent_at"), Text.Str(m, "body")])));
        });
        root.Subcommands.Add(command);
    }
}
