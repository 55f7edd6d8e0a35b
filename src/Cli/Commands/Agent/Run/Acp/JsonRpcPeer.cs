using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run.Acp;

/// <summary>An error the other side answered a request with (JSON-RPC's <c>error</c>), or one to answer it with.</summary>
internal sealed class JsonRpcError(int code, string message) : Exception(message)
{
    public const int InvalidParams = -32602;
    public const int MethodNotFound = -32601;
    public const int InternalError = -32603;

    public int Code { get; } = code;
}

/// <summary>The connection itself failed (broken JSON, a line too long, the agent gone): its reason, in a sentence.</summary>
internal sealed class JsonRpcFailure(string reason) : Exception(reason);

/// <summary>
/// JSON-RPC 2.0 both ways over newline-delimited JSON (ACP's stdio transport) with a process that is not trusted: what it
/// writes is read line by line, each at most <see cref="MaxLineBytes"/>; a line that is not a JSON-RPC object ends the
/// connection with the reason (<see cref="Closed"/>), so the turn ends on it rather than on a hang. Its requests are
/// answered concurrently (a permission request may wait for the operator while updates keep coming); its notifications
/// are handed over in order, on the reading thread. Written by hand over the BCL rather than StreamJsonRpc: the read loop
/// is where an untrusted agent is bounded, and a library hides it.
/// </summary>
internal sealed class JsonRpcPeer : IAsyncDisposable
{
    /// <summary>The longest line read: a file's content fits, a flood of one line does not.</summary>
    public const int MaxLineBytes = 8 << 20;

    private readonly Stream _output;
    private readonly Func<string, JsonNode?, CancellationToken, Task<JsonNode?>> _onRequest;
    private readonly Action<string, JsonNode?> _onNotification;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;
    private long _lastId;

    /// <param name="input">What the agent writes (its stdout).</param>
    /// <param name="output">What the agent reads (its stdin).</param>
    /// <param name="onRequest">Answers one of the agent's requests (throw <see cref="JsonRpcError"/> to refuse it).</param>
    /// <param name="onNotification">Takes one of the agent's notifications.</param>
    public JsonRpcPeer(Stream input, Stream output, Func<string, JsonNode?, CancellationToken, Task<JsonNode?>> onRequest, Action<string, JsonNode?> onNotification)
    {
        _output = output;
        _onRequest = onRequest;
        _onNotification = onNotification;
        _reading = Task.Run(() => ReadAsync(input));
    }

    /// <summary>Completes, with the reason, once the connection is over.</summary>
    public Task<string> Closed => _closed.Task;

    /// <summary>Sends a request and waits for its answer: its <c>result</c>, or <see cref="JsonRpcError"/>, or <see cref="JsonRpcFailure"/> when the connection ends first.</summary>
    public async Task<JsonNode?> RequestAsync(string method, JsonNode? parameters, CancellationToken ct)
    {
        var id = Interlocked.Increment(ref _lastId);
        var answer = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            await WriteAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method, ["params"] = parameters });
            using var cancel = ct.Register(() => answer.TrySetCanceled(ct));
            var first = await Task.WhenAny(answer.Task, Closed);
            if (first != answer.Task && !answer.Task.IsCompleted) throw new JsonRpcFailure(await Closed);
            return await answer.Task;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public Task NotifyAsync(string method, JsonNode? parameters) =>
        WriteAsync(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = method, ["params"] = parameters });

    /// <summary>Ends the connection with <paramref name="reason"/> (what is pending fails with it).</summary>
    public void Close(string reason)
    {
        if (_closed.TrySetResult(reason)) _stop.Cancel();
    }

    private async Task WriteAsync(JsonObject message)
    {
        if (Closed.IsCompleted) throw new JsonRpcFailure(await Closed);
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString() + "\n");
        await _writing.WaitAsync();
        try
        {
            await _output.WriteAsync(bytes);
            await _output.FlushAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Close("the agent stopped reading its input");
            throw new JsonRpcFailure(await Closed);
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task ReadAsync(Stream input)
    {
        var reader = PipeReader.Create(input, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var read = await reader.ReadAsync(_stop.Token);
                var buffer = read.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    var line = buffer.Slice(0, end);
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                    if (line.Length > MaxLineBytes) { Close($"broken JSON-RPC: a line of {line.Length} bytes, over {MaxLineBytes}"); return; }
                    if (!Handle(line.IsSingleSegment ? line.FirstSpan : line.ToArray())) return;
                }
                if (buffer.Length > MaxLineBytes) { Close($"broken JSON-RPC: a line longer than {MaxLineBytes} bytes"); return; }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted) { Close("the agent closed its output (it exited?)"); return; }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException e)
        {
            Close($"the agent's output failed: {e.Message}");
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>One line: a request, a notification or an answer; false (and the connection closed) when it is none of them.</summary>
    private bool Handle(ReadOnlySpan<byte> line)
    {
        if (line.Trim((byte)' ').Trim((byte)'\r').IsEmpty) return true;
        JsonObject message;
        try
        {
            message = JsonNode.Parse(line) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException)
        {
            Close($"broken JSON-RPC: a line that is not a JSON object ({Snippet(line)})");
            return false;
        }
        var method = message["method"] is JsonValue m && m.TryGetValue<string>(out var name) ? name : null;
        var id = message["id"];
        if (method is not null && id is not null) _ = AnswerAsync(id.DeepClone(), method, message["params"]);
        else if (method is not null) _onNotification(method, message["params"]);
        else if (id is JsonValue v && v.TryGetValue<long>(out var answered) && _pending.TryGetValue(answered, out var waiting))
        {
            if (message["error"] is JsonObject error)
                waiting.TrySetException(new JsonRpcError(error["code"] is JsonValue c && c.TryGetValue<int>(out var code) ? code : 0,
                    error["message"] is JsonValue t && t.TryGetValue<string>(out var text) ? StreamJson.Cut(text, 500) : "no message"));
            else waiting.TrySetResult(message["result"]?.DeepClone());
        }
        else if (id is null)
        {
            Close($"broken JSON-RPC: a message with neither a method nor an id ({Snippet(line)})");
            return false;
        }
        return true; // an answer to nothing asked (late, after a timeout): dropped
    }

    private async Task AnswerAsync(JsonNode id, string method, JsonNode? parameters)
    {
        JsonObject reply;
        try
        {
            var result = await _onRequest(method, parameters, _stop.Token);
            reply = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["result"] = result };
        }
        catch (JsonRpcError e)
        {
            reply = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["error"] = new JsonObject { ["code"] = e.Code, ["message"] = e.Message } };
        }
        catch (OperationCanceledException)
        {
            return; // the connection is over
        }
        try
        {
            await WriteAsync(reply);
        }
        catch (JsonRpcFailure)
        {
        }
    }

    private static string Snippet(ReadOnlySpan<byte> line) =>
        StreamJson.Cut(Encoding.UTF8.GetString(line[..Math.Min(line.Length, 120)]), 80);

    public async ValueTask DisposeAsync()
    {
        Close("the harness closed the connection");
        foreach (var waiting in _pending.Values) waiting.TrySetException(new JsonRpcFailure(await Closed));
        try { await _reading; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
