using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Hive.Host.Auth;

/// <summary>One connection's standing; every field but <see cref="ReceivedBytes"/> and <see cref="PendingRead"/> is guarded by the budget's lock.</summary>
internal sealed class BudgetedConnection(ConnectionContext connection, long accepted)
{
    public const int LastRank = 2;

    public ConnectionContext Connection { get; } = connection;

    /// <summary>In the unauthenticated list while unauthenticated and open.</summary>
    public LinkedListNode<BudgetedConnection>? Node { get; set; }

    public bool Authenticated { get; set; }

    public int Requests { get; set; }

    public long LastActivity { get; set; } = accepted;

    /// <summary>A request on it carried no valid credential (its first, or a later one that ran to its end).</summary>
    public bool KnownAnonymous { get; set; }

    /// <summary>The client has sent something (no lock: it only ever goes to true).</summary>
    public volatile bool ReceivedBytes;

    /// <summary>
    /// The first-request read waiting for the transport (<see cref="FirstRequestHead"/>), while it waits. Its status
    /// turns completed when the transport hands over bytes, before its continuation runs, which a host short of
    /// threads may run much later: the operator's head would otherwise look like silence all that while.
    /// </summary>
    public volatile StrongBox<ValueTask<ReadResult>>? PendingRead;

    /// <summary>
    /// Which is closed first to make room: 0, known not to be the operator's; 1, silent so far; 2, its first
    /// request's head still arriving (the operator's, for a moment). Bytes still in the kernel, or handed to a read not
    /// yet resumed, count as arrived.
    /// </summary>
    public int Rank
    {
        get
        {
            if (KnownAnonymous) return 0;
            if (!ReceivedBytes && PendingRead is { } read && read.Value.IsCompleted) ReceivedBytes = true;
            if (!ReceivedBytes && Connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
            {
                try
                {
                    if (socket.Available > 0) ReceivedBytes = true;
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    // Closing anyway: as good a victim as a silent one.
                }
            }
            return ReceivedBytes ? 2 : 1;
        }
    }
}
