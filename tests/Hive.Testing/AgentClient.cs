using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Protocol;

namespace Hive.Testing;

/// <summary>
/// An agent's side of its socket in JSON: one request line, one reply line, over the same <see cref="LineClient"/>
/// the benchmarks measure with. A reply that says something went wrong where the caller expected success throws.
/// </summary>
public sealed class AgentClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultReplyTimeout = TimeSpan.FromSeconds(40);

    private AgentClient(LineClient lines) => Lines = lines;

    /// <summary>The raw line client underneath, for byte-level requests.</summary>
    public LineClient Lines { get; }

    public static async Task<AgentClient> ConnectAsync(string path) => new(await LineClient.ConnectAsync(path));

    internal static AgentClient Over(LineClient lines) => new(lines);

    public Task<JsonElement> CallAsync(object request) => CallRawAsync(JsonSerializer.Serialize(request));

    /// <summary>Calls a verb of the catalog with its arguments' record; its reply's record (throws when the reply is not ok).</summary>
    public async Task<TReply> CallAsync<TArgs, TReply>(SocketVerb<TArgs, TReply> verb, TArgs args) =>
        Ok(await CallRawAsync(Line(verb, args))).Deserialize<TReply>(HiveJson.Options)!;

    /// <summary>Calls a verb expecting a refusal: what the host said (throws when it carried the call out).</summary>
    public async Task<Refusal> RefusalOfAsync<TArgs, TReply>(SocketVerb<TArgs, TReply> verb, TArgs args)
    {
        var reply = await CallRawAsync(Line(verb, args));
        return reply.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.False
            ? reply.Deserialize<Refusal>(HiveJson.Options)!
            : throw new InvalidOperationException("expected a refusal, the host answered: " + reply);
    }

    private static string Line<TArgs>(SocketVerb verb, TArgs args)
    {
        var line = new JsonObject { ["op"] = verb.Name };
        foreach (var (name, value) in JsonSerializer.SerializeToNode(args, HiveJson.Options)!.AsObject().ToList())
            if (value is not null) line[name] = value.DeepClone(); // absent, as a caller that leaves it out sends it
        return line.ToJsonString();
    }

    public async Task<JsonElement> CallRawAsync(string line)
    {
        await WriteRawAsync(Encoding.UTF8.GetBytes(line + "\n"));
        return await ReadReplyAsync();
    }

    public async Task WriteRawAsync(byte[] bytes) => await Lines.WriteAsync(bytes);

    /// <summary>The next reply; throws when none arrives in time, and <see cref="IOException"/> when the host hung up.</summary>
    public async Task<JsonElement> ReadReplyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultReplyTimeout);
        var line = await Lines.ReadLineAsync(cts.Token);
        using var reply = JsonDocument.Parse(line);
        return reply.RootElement.Clone();
    }

    /// <summary>Sends a message; returns its id (throws when the reply is not ok).</summary>
    public async Task<long> SendAsync(string to, string body)
    {
        var reply = await CallAsync(new { op = "send", to, body });
        return Ok(reply).GetProperty("id").GetInt64();
    }

    /// <summary>The message, or null when none arrived within <paramref name="waitMs"/> (throws when the reply is not ok).</summary>
    public async Task<JsonElement?> RecvAsync(int waitMs = 0)
    {
        var reply = await CallAsync(new { op = "recv", wait_ms = waitMs });
        var message = Ok(reply).GetProperty("message");
        return message.ValueKind == JsonValueKind.Null ? null : message;
    }

    /// <summary>The message's record, or null when none arrived within <paramref name="waitMs"/> (throws when the reply is not ok).</summary>
    public async Task<MessageView?> RecvMessageAsync(int waitMs = 0) => (await RecvOneAsync(waitMs: waitMs)).Message;

    /// <summary>
    /// <c>recv</c> with <c>max</c> 1, acknowledging <paramref name="ack"/> first (throws when not ok). <c>recv</c>'s reply
    /// record is one of two shapes with nothing on the wire to tell them apart, so the caller names the shape it asked for.
    /// </summary>
    public async Task<RecvOneReply> RecvOneAsync(long? ack = null, int? waitMs = null) =>
        Ok(await CallRawAsync(Line(MessageVerbs.Recv, new RecvArgs(waitMs, ack, null)))).Deserialize<RecvOneReply>(HiveJson.Options)!;

    /// <summary><c>recv</c> with <c>max</c> above 1, whose reply is the other of <c>recv</c>'s two shapes (throws when not ok).</summary>
    public async Task<RecvManyReply> RecvManyAsync(int max, long? ack = null) =>
        Ok(await CallRawAsync(Line(MessageVerbs.Recv, new RecvArgs(null, ack, max)))).Deserialize<RecvManyReply>(HiveJson.Options)!;

    /// <summary>Acknowledges a message this agent was handed (delivery is at least once: unacknowledged, it comes back).</summary>
    public async Task AckAsync(long id) => Ok(await CallAsync(new { op = "ack", id }));

    /// <summary>Receives one message and acknowledges it at once: the message, or null when none arrived in time.</summary>
    public async Task<JsonElement?> RecvAndAckAsync(int waitMs = 0)
    {
        var message = await RecvAsync(waitMs);
        if (message is { } m) await AckAsync(m.GetProperty("id").GetInt64());
        return message;
    }

    /// <summary>Receives one message and acknowledges it at once: its record, or null when none arrived in time.</summary>
    public async Task<MessageView?> RecvAndAckMessageAsync(int waitMs = 0)
    {
        var message = await RecvMessageAsync(waitMs);
        if (message is not null) await AckAsync(message.Id);
        return message;
    }

    /// <summary>The reply itself when it says ok; otherwise throws with the reply in the message.</summary>
    public static JsonElement Ok(JsonElement reply) =>
        reply.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True
            ? reply
            : throw new InvalidOperationException("the host refused the request: " + reply);

    public ValueTask DisposeAsync() => Lines.DisposeAsync();
}

/// <summary>A refusal on the socket: <c>{"ok": false, "error", "code"}</c>.</summary>
public sealed record Refusal(string Error, string Code);
