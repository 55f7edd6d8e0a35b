using System.CommandLine;
using Hive.Cli.Commands.Agent;
using Hive.Cli.Commands.Operator;

namespace Hive.Cli;

/// <summary>The command tree: the global options and one group per file under <c>Commands/</c>.</summary>
public static class HiveCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("hivectl: talk to a Hive as an agent (over its socket; the manager's commands on the manager's socket) or as the operator (over the HTTP API)");
        GlobalOptions.AddTo(root);
        AgentCommands.AddTo(root);
        LeaseCommands.AddTo(root);
        TicketCommands.AddTo(root);
        ManagerCommands.AddTo(root);
        StatusCommand.AddTo(root);
        HivesCommand.AddTo(root);
        AgentsCommands.AddTo(root);
        ApprovalsCommands.AddTo(root);
        InboxCommand.AddTo(root);
        SearchCommand.AddTo(root);
        QuestionsCommands.AddTo(root);
        RemindersCommands.AddTo(root);
        TailCommand.AddTo(root);
        McpCommand.AddTo(root);
        ProtocolCommand.AddTo(root);
        RunCommand.AddTo(root);
        SecretsCommands.AddTo(root);
        UpCommand.AddTo(root);
        TemplateCommands.AddTo(root);
        GovernanceCommands.AddTo(root);
        BudgetCommand.AddTo(root);
        BackupCommand.AddTo(root);
        InterventionsCommands.AddTo(root);
        CallsCommands.AddTo(root);
        ReplayCommands.AddTo(root);
        QueueCommands.AddTo(root);
        ReviewCommand.AddTo(root);
        NetCommands.AddTo(root);
        PortCommand.AddTo(root);
        return root;
    }

    /// <summary>Parses and runs; a command line the parser refuses is exit 2 (with <c>--json</c>, one JSON error document too).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var root = Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var message = string.Join("; ", parse.Errors.Select(e => e.Message));
            if (args.Contains("--json"))
                Console.Out.WriteLine(new System.Text.Json.Nodes.JsonObject { ["ok"] = false, ["error"] = message, ["code"] = "usage" }.ToJsonString());
            var error = new TerminalWriter(Console.Error);
            error.WriteLine($"hivectl: usage: {message}");
            error.WriteLine("run hivectl --help for the commands and their options");
            return CommandRunner.Usage;
        }
        return await parse.InvokeAsync();
    }
}
