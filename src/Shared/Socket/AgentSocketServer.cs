using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text.Json;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Socket;

/// <summary>
/// One Unix socket per agent at <c>run/&lt;name&gt;.sock</c> (mode 0600), so the socket a request arrives on is the
/// agent's identity. Newline-delimited JSON, one reply per request, in order. A bad line gets an error reply and the
/// connection stays usable.
/// </summary>
public sealed class AgentSocketServer(
    HivePaths paths,
    IAgentDirectory agents,
    SocketVerbRegistry verbs,
    IServiceScopeFactory scopes,
    ILogger<AgentSocketServer> logger) : IHostedService, IAsyncDisposable
{
    public const int MaxLineBytes = 64 * 1024;

    private readonly Dictionary<string, Listener> _listeners = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var agent in agents.List()) Listen(agent.Name);
        return Task.CompletedTask;
    }

    /// <summary>Opens an agent's socket (replacing a stale file left by a previous run).</summary>
    public void Listen(string agent)
    {
        lock (_listeners)
        {
            if (_listeners.ContainsKey(agent)) return;
            var path = paths.AgentSocket(agent);
            if (File.Exists(path)) File.Delete(path); // a stale socket from a previous run

            var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            socket.Listen(512);
            var listener = new Listener(agent, path, socket);
            _listeners[agent] = listener;
            listener.AcceptLoop = AcceptLoopAsync(listener);
        }
    }

    private async Task AcceptLoopAsync(Listener listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            System.Net.Sockets.Socket connection;
            try
            {
                connection = await listener.Socket.AcceptAsync(_stopping.Token);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                logger.LogWarning(e, "accept failed on {Agent}'s socket", listener.Agent);
                continue;
            }
            _ = ServeAsync(listener.Agent, connection);
        }
    }

    private async Task ServeAsync(string agent, System.Net.Sockets.Socket connection)
    {
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        var reader = PipeReader.Create(stream);
        var ct = _stopping.Token;
        var discarding = false; // inside an over-long line whose error was already sent
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(ct);
                var buffer = read.Buffer;
                while (TryTakeLine(ref buffer, out var line))
                {
                    if (discarding)
                    {
                        discarding = false;
                        continue;
                    }
                    if (line.Length > MaxLineBytes)
                        await ReplyAsync(stream, Failure(new TooLargeException($"a request line is limited to {MaxLineBytes} bytes")), ct);
                    else
                        await ReplyAsync(stream, await HandleLineAsync(agent, line, ct), ct);
                }

                if (buffer.Length > MaxLineBytes)
                {
                    if (!discarding)
                        await ReplyAsync(stream, Failure(new TooLargeException($"a request line is limited to {MaxLineBytes} bytes")), ct);
                    discarding = true;
                    buffer = buffer.Slice(buffer.End);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            // The agent hung up or the host is stopping.
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var end = buffer.PositionOf((byte)'\n');
        if (end is null)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, end.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, end.Value));
        return true;
    }

    private async Task<byte[]> HandleLineAsync(string agent, ReadOnlySequence<byte> line, CancellationToken ct)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(line);
            document = JsonDocument.ParseValue(ref reader);
            if (reader.Read()) throw new JsonException("trailing data after the JSON object");
        }
        catch (JsonException)
        {
            return Failure(new BadRequestException("the line is not a JSON object"));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return Failure(new BadRequestException("a request must be a JSON object"));
            if (!root.TryGetProperty("op", out var op) || op.ValueKind != JsonValueKind.String)
                return Failure(new BadRequestException("a request needs a string 'op'"));
            var name = op.GetString()!;
            if (!verbs.TryGet(name, out var handler))
                return Failure(new BadRequestException($"unknown op {Truncate(name)}"));

            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var result = await handler(new SocketRequest(agent, root, scope.ServiceProvider, ct));
                return Success(result);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                var error = HiveError.From(e);
                if (error.IsServerFault) logger.LogError(e, "{Op} from {Agent} failed", name, agent);
                return Failure(error);
            }
        }
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static byte[] Success(object? result)
    {
        var output = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WriteBoolean("ok", true);
            if (result is not null)
            {
                var element = JsonSerializer.SerializeToElement(result, result.GetType(), HiveJson.Options);
                foreach (var property in element.EnumerateObject()) property.WriteTo(writer);
            }
            writer.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Failure(Exception e) => Failure(HiveError.From(e));

    private static byte[] Failure(HiveError error) =>
        JsonSerializer.SerializeToUtf8Bytes(new SocketFailure(false, error.Message, error.Code, error.Errors), HiveJson.Options);

    private sealed record SocketFailure(
        bool Ok, string Error, string Code,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] IDictionary<string, string[]>? Errors);

    /// <summary>The reply and its newline in one write: one syscall, one wake-up of the agent.</summary>
    private static async Task ReplyAsync(Stream stream, byte[] reply, CancellationToken ct)
    {
        var line = new byte[reply.Length + 1];
        reply.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        await stream.WriteAsync(line, ct);
    }

    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync();
        List<Listener> listeners;
        lock (_listeners)
        {
            listeners = _listeners.Values.ToList();
            _listeners.Clear();
        }
        foreach (var listener in listeners)
        {
            listener.Socket.Dispose();
            try { File.Delete(listener.Path); } catch (IOException) { }
            if (listener.AcceptLoop is { } loop) await loop;
        }
    }

    private sealed class Listener(string agent, string path, System.Net.Sockets.Socket socket)
    {
        public string Agent { get; } = agent;
        public string Path { get; } = path;
        public System.Net.Sockets.Socket Socket { get; } = socket;
        public Task? AcceptLoop { get; set; }
    }
}
