using System.CommandLine;
using System.Text.RegularExpressions;
using Hive.Cli.Commands.Agent.Port;

namespace Hive.Cli.Commands.Agent;

/// <summary>
/// <c>hivectl port --to SOCKET --url-variable NAME [--url-path PATH] -- COMMAND [ARGS...]</c>, the agent's door to its
/// model inside the sandbox (issue 43): it listens on <c>127.0.0.1:&lt;free port&gt;</c> before COMMAND starts (so COMMAND
/// never finds it not there yet), runs COMMAND as its child with <c>NAME=http://127.0.0.1:&lt;port&gt;PATH</c> added to
/// its environment and its stdin, stdout and stderr as they are, forwards every connection to the Unix socket SOCKET (the
/// host's gateway for this agent; see <see cref="PortForwarder"/>), and exits with COMMAND's status (128 + the signal when
/// a signal killed it). SIGTERM, SIGINT and SIGHUP do not end it while COMMAND runs: the driver signals the whole group,
/// COMMAND gets its own and decides. The drivers put it in front of an agent's command; it is hidden from the help.
/// </summary>
public static partial class PortCommand
{
    /// <summary>The exit status when COMMAND could not be run at all (as a shell says it).</summary>
    public const int CannotRun = 127;

    public static void AddTo(RootCommand root)
    {
        var to = new Option<string>("--to") { Description = "the Unix socket every connection is forwarded to", Required = true };
        var variable = new Option<string>("--url-variable") { Description = "the environment variable COMMAND gets the base URL in", Required = true };
        var path = new Option<string>("--url-path") { Description = "appended to the base URL (e.g. /v1)", DefaultValueFactory = _ => "" };
        var argv = new Argument<string[]>("command") { Description = "the command and its arguments, after --", Arity = ArgumentArity.OneOrMore };
        var command = new Command("port", "forward a loopback TCP port to a Unix socket while COMMAND runs, its URL in COMMAND's environment")
        {
            to, variable, path, argv,
        };
        command.Hidden = true;
        // Synchronous on purpose: System.CommandLine's handling of SIGINT and SIGTERM (cancel, then exit after a timeout)
        // applies to asynchronous actions only, and this command must outlive both while COMMAND runs.
        command.SetAction(parse =>
        {
            var socket = parse.GetValue(to)!;
            var name = parse.GetValue(variable)!;
            var suffix = parse.GetValue(path) ?? "";
            if (!VariableName().IsMatch(name)) return Usage($"--url-variable must be an environment variable's name, not '{name}'");
            if (suffix.Length > 0 && (!suffix.StartsWith('/') || suffix.Any(char.IsWhiteSpace)))
                return Usage("--url-path must start with / and hold no spaces");
            return PortForwarder.Run(socket, name, suffix, parse.GetValue(argv)!);
        });
        root.Subcommands.Add(command);
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"hivectl: usage: {message}");
        return CommandRunner.Usage;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariableName();
}
