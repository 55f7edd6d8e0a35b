using System.Net.Sockets;

namespace Hive.Shared.Socket;

internal enum Admission { Admitted, Full, Closed }

/// <summary>One agent's listening socket and the connections it accepted.</summary>
internal sealed class AgentSocketListener(string agent, string path, System.Net.Sockets.Socket socket, SocketFiles.Identity? created)
{
    private readonly CancellationTokenSource _closing = new();
    private readonly HashSet<System.Net.Sockets.Socket> _open = [];
    private bool _closed;

    public string Agent { get; } = agent;
    public string Path { get; } = path;
    public System.Net.Sockets.Socket Socket { get; } = socket;
    public Task? AcceptLoop { get; set; }

    /// <summary>Cancelled when the socket closes: every request in flight on it (a parked recv, say) stops.</summary>
    public CancellationToken Closing => _closing.Token;

    public Admission TryTrack(System.Net.Sockets.Socket connection)
    {
        lock (_open)
        {
            if (_closed) return Admission.Closed;
            if (_open.Count >= AgentSocketServer.MaxConnectionsPerAgent) return Admission.Full;
            _open.Add(connection);
            return Admission.Admitted;
        }
    }

    public int OpenCount
    {
        get { lock (_open) return _open.Count; }
    }

    public void Untrack(System.Net.Sockets.Socket connection)
    {
        lock (_open) _open.Remove(connection);
    }

    public void Close()
    {
        List<System.Net.Sockets.Socket> open;
        lock (_open)
        {
            if (_closed) return;
            _closed = true;
            open = [.. _open];
        }
        _closing.Cancel(); // first, so the accept loop and the connections take their ends as cancellation
        Socket.Dispose();
        SocketFiles.DeleteIfSame(Path, created); // only the file this host bound, not one another process put there since
        foreach (var connection in open)
        {
            // Wakes a read or a write that is not watching the token; the connection's own task disposes it.
            try { connection.Shutdown(SocketShutdown.Both); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
    }
}
