using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

namespace Hive.Testing;

/// <summary>
/// An agent's side of its socket, the one socket client of the tests and the benchmarks: newline-delimited requests
/// and replies as raw bytes. Kept lean because in a benchmark it shares the CPU with the host it measures: raw socket
/// calls, one reusable buffer, no JSON parsing beyond what a reply check needs (<see cref="Reply"/>). Tests talk JSON
/// through <see cref="AgentClient"/>, which sits on top of it.
/// </summary>
public sealed class LineClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start; // first unread byte
    private int _end;   // one past the last received byte

    private LineClient(Socket socket) => _socket = socket;

    public static async Task<LineClient> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return new LineClient(socket);
    }

    /// <summary>Writes one request; <paramref name="line"/> must end with '\n'.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> line)
    {
        while (!line.IsEmpty)
        {
            var sent = await _socket.SendAsync(line, SocketFlags.None);
            line = line[sent..];
        }
    }

    /// <summary>The next reply line, without its '\n'. Valid only until the next call.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReadLineAsync(CancellationToken cancellationToken = default)
    {
        var scanned = _start;
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', scanned, _end - scanned);
            if (newline >= 0)
            {
                var line = _buffer.AsMemory(_start, newline - _start);
                _start = newline + 1;
                return line;
            }
            scanned = _end;

            if (_start == _end)
            {
                _start = _end = scanned = 0; // everything was consumed: start over at the front
            }
            else if (_end == _buffer.Length)
            {
                if (_start > 0)
                {
                    // Move the unread tail to the front before growing.
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    scanned -= _start;
                    _end -= _start;
                    _start = 0;
                }
                else
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }
            }

            var received = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
            if (received == 0) throw new IOException("the host closed the socket");
            _end += received;
        }
    }

    public async Task<ReadOnlyMemory<byte>> CallAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken = default)
    {
        await WriteAsync(line);
        return await ReadLineAsync(cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Just enough of the reply format (<c>{"ok":true,...}</c>, written by the host in that order) to check replies.</summary>
public static class Reply
{
    private static readonly byte[] OkPrefix = "{\"ok\":true"u8.ToArray();
    private static readonly byte[] IdKey = "\"id\":"u8.ToArray();
    private static readonly byte[] NullMessage = "\"message\":null"u8.ToArray();

    public static bool IsOk(ReadOnlySpan<byte> reply) => reply.StartsWith(OkPrefix);

    /// <summary>The first <c>"id":N</c> in the reply: the send's id, or the received message's id.</summary>
    public static long Id(ReadOnlySpan<byte> reply)
    {
        var at = reply.IndexOf(IdKey);
        if (at < 0 || !Utf8Parser.TryParse(reply[(at + IdKey.Length)..], out long id, out _))
            throw new FormatException("no id in reply: " + Encoding.UTF8.GetString(reply));
        return id;
    }

    public static bool HasMessage(ReadOnlySpan<byte> reply) => IsOk(reply) && reply.IndexOf(NullMessage) < 0;

    public static string Text(ReadOnlySpan<byte> reply) => Encoding.UTF8.GetString(reply);
}
