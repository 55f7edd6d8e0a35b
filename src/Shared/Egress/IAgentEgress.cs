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
public sealed record AgentEgressAccess(string Socket);

/// <summary>No egress: a sealed agent reaches its gateway and nothing else.</summary>
public sealed class NoAgentEgress : IAgentEgress
{
    public AgentEgressAccess? For(string agent) => null;
}
