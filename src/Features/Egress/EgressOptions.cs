namespace Hive.Features.Egress;

/// <summary><c>Hive:Egress</c>: the limits of each agent's egress proxy.</summary>
public sealed class EgressOptions
{
    /// <summary>The largest request head (request line and headers) a client may send before its target is known.</summary>
    public int MaxHeadBytes { get; set; } = 8 * 1024;

    /// <summary>How long a client has to send its whole head; a connection that sends less is closed.</summary>
    public int HeadTimeoutSeconds { get; set; } = 10;

    /// <summary>How long a name may take to resolve on the host.</summary>
    public int ResolveTimeoutSeconds { get; set; } = 10;

    /// <summary>How long each of a target's addresses may take to answer the connect, before the next is tried.</summary>
    public int ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// Whether the networks the host is on (each interface's on-link prefix, not only its own addresses) are refused as
    /// well: a LAN of public addresses (or TEST-NET, as a cloud's) is otherwise reachable from a sealed agent.
    /// </summary>
    public bool RefuseHostNetworks { get; set; } = true;

    /// <summary>How long an agent's attempts are kept for <c>GET /api/agents/{name}/net</c> (the audit log keeps its own).</summary>
    public int RetainDays { get; set; } = 30;
}
