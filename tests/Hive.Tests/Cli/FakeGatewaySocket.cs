using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace Hive.Tests.Cli;

/// <summary>
/// A server on a Unix socket standing in for an agent's gateway: each connection is handed to the test's
/// handler, and the request heads it reads are kept in order of arrival. Disposed: the listener and every connection close.
/// </summary>
public sealed class FakeGatewaySocket : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly Func<GatewayConnection, Task> _handler;
    private readonly ConcurrentBag<Socket> _accepted = [];
    private readonly Channel<string> _heads = Channel.CreateUnbounded<string>();
    private readonly Task _accepting;

    public FakeGatewaySocket(string path, Func<GatewayConnection, Task>? handler = null)
    {
        Path = path;
        _handler = handler ?? AnswerOkAsync;
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(512);
        _accepting = AcceptAsync();
    }

    public string Path { get; }

    /// <summary>Reads the request's head and answers 200 <c>ok</c>, then closes.</summary>
    public static async Task AnswerOkAsync(GatewayConnection connection)
    {
        await connection.ReadHeadAsync();
        await connection.WriteAsync("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    }

    /// <summary>The next request head a connection read (<see cref="GatewayConnection.ReadHeadAsync"/>), within <paramref name="timeout"/>.</summary>
    public async Task<string> NextHeadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            return await _heads.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no request reached {Path}");
        }
    }

    /// <summary>Whether any request head has arrived and not been taken.</summary>
    public bool AnyHead => _heads.Reader.Count > 0;

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            _accepted.Add(socket);
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            await _handler(new GatewayConnection(socket, _heads.Writer));
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            // the client went
        }
        finally
        {
            socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _accepting;
        foreach (var socket in _accepted) socket.Dispose();
        File.Delete(Path);
    }
}

/// <summary>One connection to a <see cref="FakeGatewaySocket"/>, as its handler sees it.</summary>
public sealed class GatewayConnection(Socket socket, ChannelWriter<string> heads)
{
    private readonly List<byte> _pending = [];

    /// <summary>Reads up to the blank line that ends an HTTP request's head; the head is kept for the test.</summary>
    public async Task<string> ReadHeadAsync()
    {
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.ASCII.GetString(_pending.ToArray());
            if (text.IndexOf("\r\n\r\n", StringComparison.Ordinal) is var end and >= 0)
            {
                _pending.RemoveRange(0, end + 4);
                var head = text[..end];
                heads.TryWrite(head);
                return head;
            }
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (read == 0) throw new IOException("the connection ended before a request's head did");
            _pending.AddRange(buffer.AsSpan(0, read).ToArray());
        }
    }

    /// <summary>Everything the client sends until it ends its side (a half-close), as text.</summary>
    public async Task<string> ReadToEndAsync()
    {
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0) _pending.AddRange(buffer.AsSpan(0, read).ToArray());
        var text = Encoding.UTF8.GetString(_pending.ToArray());
        _pending.Clear();
        return text;
    }

    public async Task WriteAsync(string text) => await socket.SendAsync(Encoding.UTF8.GetBytes(text), SocketFlags.None);
}
