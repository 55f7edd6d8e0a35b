namespace Hive.Shared.Egress;

/// <summary>
/// How a sealed agent reaches the network beyond its model: the Egress slice serves each agent's own Unix socket (an HTTP
/// forward proxy with CONNECT that checks every target against the agent's <c>egress</c> rules), and the drivers (Containers,
/// lower down) bind it into the sandbox and point the agent's <c>HTTP(S)_PROXY</c> at the forwarding port in front of it.
/// Declared here because the drivers sit below the Egress slice; with no implementation, a sealed agent reaches nothing.
/// </summary>
public interface IAgentEgress
{
    /// <summary>The host's socket of <paramref name="agent"/>'s egress proxy (opened if it is not yet); null without an egress slice.</summary>
    AgentEgressAccess? For(string agent);
}

/// <param name="Socket">The host's Unix socket, bound before the agent starts; the socket is the agent's identity.</param>
/// <param name="Forge">The agent's door to the hive's forge, when the hive has one.</param>
public sealed record AgentEgressAccess(string Socket, AgentForgeAccess? Forge = null);

/// <summary>
/// A sealed agent's door to the hive's forge (<c>Hive:Forge:Url</c>): a Unix socket of its own whose connections the host
/// passes to the forge's host and port as they are, bytes both ways (TLS too, never looked into). The agent's port
/// forwards a loopback port to it and gives the agent <c>HIVE_FORGE_URL</c>: <see cref="Scheme"/>, that port, and
/// <see cref="Path"/> (the forge URL's own path, <c>""</c> at its root).
/// </summary>
public sealed record AgentForgeAccess(string Socket, string Scheme, string Path);

/// <summary>No egress: a sealed agent reaches its gateway and nothing else.</summary>
public sealed class NoAgentEgress : IAgentEgress
{
    public AgentEgressAccess? For(string agent) => null;
}
