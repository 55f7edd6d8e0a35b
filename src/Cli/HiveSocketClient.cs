using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hive.Cli;

/// <summary>
/// An agent's connection to its own hive socket: newline JSON, one request object per line, one reply line per request,
/// in order. <see cref="CallAsync"/> returns a reply with <c>ok: true</c> and throws <see cref="CliError"/> with the
/// reply's <c>code</c> and <c>error</c> otherwise. One connection serves any number of calls (reused by the harness and
/// the MCP server that build on it).
/// </summary>
public sealed class HiveSocketClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private HiveSocketClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, new UTF8Encoding(false));
    }

    public string Path { get; private init; } = "";

    /// <summary>Connects to the socket at <paramref name="path"/>; <c>unavailable</c> when nothing listens there.</summary>
    public static async Task<HiveSocketClient> ConnectAsync(string path, CancellationToken ct = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new CliError("unavailable", $"cannot connect to the hive socket {path}: {e.Message}");
        }
        return new HiveSocketClient(socket) { Path = path };
    }

    /// <summary>Sends one request (<c>op</c> and its fields) and returns its reply, throwing when <c>ok</c> is false.</summary>
    public async Task<JsonObject> CallAsync(string op, JsonObject? fields = null, CancellationToken ct = default)
    {
        var request = new JsonObject { ["op"] = op };
        if (fields is not null)
            foreach (var (key, value) in fields) request[key] = value?.DeepClone();
        var reply = await RawCallAsync(request, ct);
        if (reply["ok"]?.GetValue<bool>() == true) return reply;
        throw new CliError(reply["code"]?.GetValue<string>() ?? "failed", reply["error"]?.GetValue<string>() ?? "the hive refused the request");
    }

    /// <summary>Sends one request object as it is and returns the reply object, whatever its <c>ok</c>.</summary>
    public async Task<JsonObject> RawCallAsync(JsonObject request, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var line = Encoding.UTF8.GetBytes(request.ToJsonString() + "\n");
            string? replyLine;
            try
            {
                await _stream.WriteAsync(line, ct);
                replyLine = await _reader.ReadLineAsync(ct);
            }
            catch (IOException e)
            {
                throw new CliError("unavailable", $"the hive socket {Path} closed: {e.Message}");
            }
            if (replyLine is null) throw new CliError("unavailable", $"the hive socket {Path} closed before replying");
            try
            {
                return JsonNode.Parse(replyLine) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException)
            {
                throw new CliError("bad_reply", "the hive sent a reply that is not a JSON object");
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _stream.Dispose();
        _socket.Dispose();
        _gate.Dispose();
        return ValueTask.CompletedTask;
    }
}
