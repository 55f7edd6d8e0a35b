using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Hive.Tests.Infrastructure;

/// <summary>An agent's side of its socket: newline-delimited JSON, one reply per request.</summary>
public sealed class AgentClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private AgentClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, new UTF8Encoding(false));
    }

    public static async Task<AgentClient> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return new AgentClient(socket);
    }

    public Task<JsonElement> CallAsync(object request) => CallRawAsync(JsonSerializer.Serialize(request));

    public async Task<JsonElement> CallRawAsync(string line)
    {
        await WriteRawAsync(Encoding.UTF8.GetBytes(line + "\n"));
        return await ReadReplyAsync();
    }

    public async Task WriteRawAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    public async Task<JsonElement> ReadReplyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(40));
        var line = await _reader.ReadLineAsync(cts.Token) ?? throw new IOException("the host closed the socket");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    public async Task<long> SendAsync(string to, string body)
    {
        var reply = await CallAsync(new { op = "send", to, body });
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        return reply.GetProperty("id").GetInt64();
    }

    /// <summary>The message, or null when none arrived within <paramref name="waitMs"/>.</summary>
    public async Task<JsonElement?> RecvAsync(int waitMs = 0)
    {
        var reply = await CallAsync(new { op = "recv", wait_ms = waitMs });
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        var message = reply.GetProperty("message");
        return message.ValueKind == JsonValueKind.Null ? null : message;
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
