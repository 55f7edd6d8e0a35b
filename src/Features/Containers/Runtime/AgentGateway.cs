using Hive.Shared.Egress;
using Hive.Shared.Gateway;

namespace Hive.Features.Containers.Runtime;

/// <summary>How an agent's model calls go, as its row says (<c>model_calls</c>).</summary>
public static class ModelCallRoutes
{
    /// <summary>Through the hive's gateway: the drivers start the forwarding port in front of its command.</summary>
    public const string Gateway = "gateway";

    /// <summary>The agent has a gateway, but its own configuration (approved by the operator) sets the key or the base URL: it runs as configured.</summary>
    public const string NotMetered = "not_metered";
}

/// <summary>
/// What the process and bubblewrap drivers do about an agent's gateway: when <see cref="IAgentGateways.For"/>
/// gives one and the agent's own environment and secrets set neither its base URL nor its key variable, its command runs
/// behind <c>hivectl port</c> (which listens inside the sandbox and forwards to the gateway's socket, and gives the
/// command the base URL), and its environment gets the placeholder key, never a real one. When its own configuration sets
/// either, it runs as configured, and its row says its calls are not metered.
/// </summary>
internal sealed record AgentGateway(AgentGatewayAccess Access, bool Metered)
{
    /// <summary>Where a sandboxed agent sees its gateway's socket (beside its own, <c>/run/hive/NAME.sock</c>).</summary>
    public static string InsideSocket(string agent) => $"/run/hive/{agent}.gateway.sock";

    /// <summary>Where a sealed sandboxed agent sees its egress proxy's socket, beside its gateway's.</summary>
    public static string InsideEgressSocket(string agent) => $"/run/hive/{agent}.egress.sock";

    /// <summary>Where a sealed sandboxed agent sees its door to the hive's forge, beside its egress proxy's.</summary>
    public static string InsideForgeSocket(string agent) => $"/run/hive/{agent}.forge.sock";

    /// <summary>The agent's gateway and whether its calls go through it; null when it has none.</summary>
    public static AgentGateway? Of(IAgentGateways gateways, string agent, string? provider, IEnumerable<string> ownVariables)
    {
        if (gateways.For(agent, provider) is not { } access) return null;
        var own = ownVariables.ToHashSet(StringComparer.Ordinal);
        return new AgentGateway(access, !own.Contains(access.BaseUrlVariable) && !own.Contains(access.KeyVariable));
    }

    /// <summary>The row's <c>model_calls</c>: <see cref="ModelCallRoutes"/>, or null without a gateway.</summary>
    public static string? RouteOf(AgentGateway? gateway) => gateway switch
    {
        null => null,
        { Metered: true } => ModelCallRoutes.Gateway,
        _ => ModelCallRoutes.NotMetered,
    };

    /// <summary>What an agent's log says at its start of where its model calls go.</summary>
    public static string NoteOf(AgentGateway? gateway) => gateway switch
    {
        null => "",
        { Metered: true } => $" (model calls through the hive's gateway, {gateway.Access.BaseUrlVariable} from its port)",
        _ => $" (model calls not metered: its own configuration sets {gateway.Access.BaseUrlVariable} or {gateway.Access.KeyVariable})",
    };

    /// <summary>
    /// The command that runs <paramref name="program"/> (as the agent sees it) with <paramref name="args"/> behind the port:
    /// <c>hivectl port [--to SOCKET --url-variable NAME --url-path PATH] [--proxy SOCKET] [--forge SOCKET --forge-scheme S
    /// --forge-path PATH] -- PROGRAM ARGS</c>, with the gateway's forward when <paramref name="gateway"/> is given (its
    /// socket as the agent sees it: <paramref name="gatewayInside"/>), the egress proxy's when <paramref name="proxyInside"/>
    /// is (a sealed agent's), and the forge door's when <paramref name="forgeInside"/> is (its socket as the agent sees it).
    /// </summary>
    public static IReadOnlyList<string> PortCommand(
        AgentGatewayAccess? gateway, string? gatewayInside, string? proxyInside, AgentForgeAccess? forgeInside, string program, IEnumerable<string> args)
    {
        List<string> command = ["hivectl", "port"];
        if (gateway is not null)
            command.AddRange(["--to", gatewayInside!, "--url-variable", gateway.BaseUrlVariable, "--url-path", gateway.BaseUrlPath]);
        if (proxyInside is not null) command.AddRange(["--proxy", proxyInside]);
        if (forgeInside is not null)
            command.AddRange(["--forge", forgeInside.Socket, "--forge-scheme", forgeInside.Scheme, "--forge-path", forgeInside.Path]);
        return [.. command, "--", program, .. args];
    }
}
