using System.Net.Sockets;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// The physical floor of one round trip per send: a Unix-socket server that answers each newline-terminated request
/// with one short line, doing nothing else (no parsing, no storage). The broker's (b16) is compared with it.
/// </summary>
public sealed class BareEchoServer : IAsyncDisposable
{
    private static readonly byte[] Reply = "{\"ok\":true,\"id\":1}\n"u8.ToArray();
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public BareEchoServer(string path)
    {
        Path = path;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(64);
        _accepting = AcceptAsync();
    }

    public string Path { get; }

    private async Task AcceptAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true) connections.Add(ServeAsync(await _listener.AcceptAsync(_stop.Token)));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(Socket connection)
    {
        using (connection)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var read = await connection.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (read == 0) return;
                    // One reply per newline; a request split across reads is answered when its newline arrives.
                    for (var i = 0; i < read; i++)
                        if (buffer[i] == (byte)'\n')
                            await connection.SendAsync(Reply, SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        File.Delete(Path);
    }
}
