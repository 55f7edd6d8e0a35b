using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hive.Testing;

/// <summary>One HTTP/1.1 response's status line and headers (names lower-cased), and its body when it was read.</summary>
public sealed record RawHttpResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.GetValueOrDefault(name.ToLowerInvariant());
}

/// <summary>
/// One TCP connection speaking HTTP/1.1 by hand, so a test sees what HttpClient hides: which connection a request
/// went over, whether it stays open, and when the server closes it.
/// </summary>
public sealed class RawHttpConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly string _host;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start, _end; // unread bytes in _buffer

    private RawHttpConnection(Socket socket, Uri baseAddress)
    {
        _socket = socket;
        _host = baseAddress.Authority;
    }

    public static async Task<RawHttpConnection> OpenAsync(Uri baseAddress, CancellationToken ct = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, baseAddress.Port), ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RawHttpConnection(socket, baseAddress);
    }

    /// <summary>Sends <c>GET path</c> with these extra header lines (e.g. <c>Authorization: Bearer …</c>).</summary>
    public Task SendGetAsync(string path, params string[] headers)
    {
        var text = new StringBuilder($"GET {path} HTTP/1.1\r\nHost: {_host}\r\n");
        foreach (var header in headers) text.Append(header).Append("\r\n");
        text.Append("\r\n");
        return _socket.SendAsync(Encoding.ASCII.GetBytes(text.ToString()), SocketFlags.None);
    }

    /// <summary>The <c>Host</c> this connection's requests name (the base address's authority).</summary>
    public string Authority => _host;

    /// <summary>Sends these bytes as they are: a request head written by hand, part of a body.</summary>
    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>Reads one response: its head, and its body unless <paramref name="headOnly"/> (an event stream's never ends).</summary>
    public async Task<RawHttpResponse> ReadResponseAsync(TimeSpan timeout, bool headOnly = false)
    {
        using var cts = new CancellationTokenSource(timeout);
        var head = await ReadUntilAsync("\r\n\r\n"u8.ToArray(), cts.Token);
        var lines = Encoding.ASCII.GetString(head).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }
        if (headOnly) return new RawHttpResponse(status, headers, "");

        var body = new MemoryStream();
        if (headers.TryGetValue("content-length", out var length))
        {
            body.Write(await ReadExactlyAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture), cts.Token));
        }
        else if (headers.GetValueOrDefault("transfer-encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
        {
            while (true)
            {
                var size = Convert.ToInt32(Encoding.ASCII.GetString(await ReadUntilAsync("\r\n"u8.ToArray(), cts.Token)).Trim(), 16);
                if (size == 0)
                {
                    await ReadUntilAsync("\r\n"u8.ToArray(), cts.Token);
                    break;
                }
                body.Write(await ReadExactlyAsync(size, cts.Token));
                await ReadExactlyAsync(2, cts.Token);
            }
        }
        return new RawHttpResponse(status, headers, Encoding.UTF8.GetString(body.ToArray()));
    }

    public async Task<RawHttpResponse> GetAsync(string path, TimeSpan timeout, params string[] headers)
    {
        await SendGetAsync(path, headers);
        return await ReadResponseAsync(timeout);
    }

    /// <summary>
    /// True once the server has closed the connection (end of stream or reset), reading and dropping whatever comes
    /// before; false if it is still open when <paramref name="ct"/> fires.
    /// </summary>
    public async Task<bool> ClosedByServerAsync(CancellationToken ct)
    {
        _start = _end = 0;
        try
        {
            while (await _socket.ReceiveAsync(_buffer, SocketFlags.None, ct) > 0) { }
            return true;
        }
        catch (SocketException)
        {
            return true; // reset: closed with bytes of ours unread
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async Task<bool> ClosedByServerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await ClosedByServerAsync(cts.Token);
    }

    private async Task<byte[]> ReadUntilAsync(byte[] delimiter, CancellationToken ct)
    {
        while (true)
        {
            var at = _buffer.AsSpan(_start, _end - _start).IndexOf(delimiter);
            if (at >= 0)
            {
                var result = _buffer.AsSpan(_start, at).ToArray();
                _start += at + delimiter.Length;
                return result;
            }
            await FillAsync(ct);
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken ct)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end) await FillAsync(ct);
            var take = Math.Min(count - copied, _end - _start);
            _buffer.AsSpan(_start, take).CopyTo(result.AsSpan(copied));
            _start += take;
            copied += take;
        }
        return result;
    }

    private async Task FillAsync(CancellationToken ct)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) throw new InvalidOperationException("a response head larger than the buffer");
        var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct);
        if (read == 0) throw new IOException("the server closed the connection");
        _end += read;
    }

    public void Dispose() => _socket.Dispose();
}
