using System.CommandLine;
using Hive.Contracts.Protocol;

namespace Hive.Cli.Commands.Agent;

/// <summary><c>hivectl protocol</c>: the agent socket protocol's reference (every verb, its arguments and reply) as Markdown.</summary>
public static class ProtocolCommand
{
    public static void AddTo(RootCommand root)
    {
        var command = new Command("protocol", "print the agent socket protocol (every verb, who may call it, its arguments and reply) as Markdown");
        command.SetAction(_ =>
        {
            Console.Out.Write(ProtocolReference.Markdown());
            return 0;
        });
        root.Subcommands.Add(command);
    }
}
