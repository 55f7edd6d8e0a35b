using System.CommandLine;
using System.Text.RegularExpressions;
using Hive.Cli.Commands.Agent.Port;

namespace Hive.Cli.Commands.Agent;

/// <summary>
/// <c>hivectl port [--to SOCKET --url-variable NAME [--url-path PATH]] [--proxy SOCKET] [--forge SOCKET [--forge-scheme
/// http|https] [--forge-path PATH]] -- COMMAND [ARGS...]</c>, the agent's door to its model and, for a sealed
/// agent, to the egress proxy and the hive's forge, inside the sandbox: for
/// each forward it listens on <c>127.0.0.1:&lt;free port&gt;</c> before COMMAND starts (so COMMAND never finds it not
/// there yet), runs COMMAND as its child with its stdin, stdout and stderr as they are and the forwards' variables added
/// to its environment — <c>NAME=http://127.0.0.1:&lt;port&gt;PATH</c> for the gateway (<c>--to</c>), and
/// <c>HTTP_PROXY</c>, <c>HTTPS_PROXY</c>, <c>http_proxy</c>, <c>https_proxy</c> = <c>http://127.0.0.1:&lt;port&gt;</c> with
/// <c>NO_PROXY</c>, <c>no_proxy</c> = <c>127.0.0.1,localhost,::1</c> for the proxy (<c>--proxy</c>; the gateway's own port
/// is on loopback, so it is never sent through the proxy), and <c>HIVE_FORGE_URL=SCHEME://127.0.0.1:&lt;port&gt;PATH</c> for
/// the forge (<c>--forge</c>; the forge URL's own scheme and path) — forwards every connection to its Unix socket (see
/// <see cref="PortForwarder"/>), and exits with COMMAND's status (128 + the signal when a signal killed it). SIGTERM, SIGINT
/// and SIGHUP do not end it while COMMAND runs: the driver signals the whole group, COMMAND gets its own and decides. The
/// drivers put it in front of an agent's command; it is hidden from the help.
/// </summary>
public static partial class PortCommand
{
    /// <summary>The exit status when COMMAND could not be run at all (as a shell says it).</summary>
    public const int CannotRun = 127;

    /// <summary>What a sealed agent is told not to send through its proxy: its own loopback, where its gateway's port is.</summary>
    public const string NoProxy = "127.0.0.1,localhost,::1";

    /// <summary>Where a sealed agent is told its forge is: its port in front of its forge door.</summary>
    public const string ForgeVariable = "HIVE_FORGE_URL";

    public static void AddTo(RootCommand root)
    {
        var to = new Option<string>("--to") { Description = "the Unix socket of the gateway: every connection to its port is forwarded there" };
        var variable = new Option<string>("--url-variable") { Description = "the environment variable COMMAND gets the gateway's base URL in" };
        var path = new Option<string>("--url-path") { Description = "appended to the base URL (e.g. /v1)", DefaultValueFactory = _ => "" };
        var proxy = new Option<string>("--proxy") { Description = "the Unix socket of the egress proxy: its port goes in COMMAND's HTTP(S)_PROXY" };
        var forge = new Option<string>("--forge") { Description = "the Unix socket of the door to the hive's forge: its port goes in COMMAND's HIVE_FORGE_URL" };
        var forgeScheme = new Option<string>("--forge-scheme") { Description = "the forge URL's scheme (https: TLS passes the door as it is)", DefaultValueFactory = _ => "http" };
        var forgePath = new Option<string>("--forge-path") { Description = "the forge URL's path (e.g. /git)", DefaultValueFactory = _ => "" };
        var argv = new Argument<string[]>("command") { Description = "the command and its arguments, after --", Arity = ArgumentArity.OneOrMore };
        var command = new Command("port", "forward loopback TCP ports to Unix sockets while COMMAND runs, their URLs in COMMAND's environment")
        {
            to, variable, path, proxy, forge, forgeScheme, forgePath, argv,
        };
        command.Hidden = true;
        // Synchronous on purpose: System.CommandLine's handling of SIGINT and SIGTERM (cancel, then exit after a timeout)
        // applies to asynchronous actions only, and this command must outlive both while COMMAND runs.
        command.SetAction(parse =>
        {
            var gateway = parse.GetValue(to);
            var name = parse.GetValue(variable);
            var suffix = parse.GetValue(path) ?? "";
            var proxySocket = parse.GetValue(proxy);
            var forgeSocket = parse.GetValue(forge);
            var scheme = parse.GetValue(forgeScheme) ?? "http";
            var forgeSuffix = parse.GetValue(forgePath) ?? "";
            if (gateway is null && proxySocket is null && forgeSocket is null)
                return Usage("give --to (the gateway's socket), --proxy (the egress proxy's), --forge (the forge door's), or several");
            if (gateway is null != name is null) return Usage("--to and --url-variable go together");
            var forwards = new List<PortForwarder.Forward>();
            if (gateway is not null)
            {
                if (!VariableName().IsMatch(name!)) return Usage($"--url-variable must be an environment variable's name, not '{name}'");
                if (suffix.Length > 0 && (!suffix.StartsWith('/') || suffix.Any(char.IsWhiteSpace)))
                    return Usage("--url-path must start with / and hold no spaces");
                forwards.Add(new PortForwarder.Forward(gateway, "the gateway's socket", port => [new(name!, $"http://127.0.0.1:{port}{suffix}")]));
            }
            if (proxySocket is not null) forwards.Add(new PortForwarder.Forward(proxySocket, "the egress proxy's socket", ProxyVariables));
            if (forgeSocket is not null)
            {
                if (scheme is not ("http" or "https")) return Usage($"--forge-scheme must be http or https, not '{scheme}'");
                if (forgeSuffix.Length > 0 && (!forgeSuffix.StartsWith('/') || forgeSuffix.Any(char.IsWhiteSpace)))
                    return Usage("--forge-path must start with / and hold no spaces");
                forwards.Add(new PortForwarder.Forward(forgeSocket, "the forge door's socket",
                    port => [new(ForgeVariable, $"{scheme}://127.0.0.1:{port}{forgeSuffix}")]));
            }
            return PortForwarder.Run(forwards, parse.GetValue(argv)!);
        });
        root.Subcommands.Add(command);
    }

    private static IEnumerable<KeyValuePair<string, string>> ProxyVariables(int port)
    {
        var url = $"http://127.0.0.1:{port}";
        foreach (var name in new[] { "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy" }) yield return new(name, url);
        foreach (var name in new[] { "NO_PROXY", "no_proxy" }) yield return new(name, NoProxy);
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"hivectl: usage: {message}");
        return CommandRunner.Usage;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariableName();
}
