// The sample agent: connects to its socket ($HIVE_SOCKET), receives with acknowledgement, and answers every message
// with its body reversed, prefixed "↩ ". It never answers such an answer (two echo agents would otherwise talk for ever)
// nor a system message from `hive`. A reply carries client_id "reply-<id>", so a message redelivered after a crash
// (at-least-once delivery) is answered once.
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

const string Marker = "↩ ";
var socketPath = Environment.GetEnvironmentVariable("HIVE_SOCKET")
    ?? throw new InvalidOperationException("HIVE_SOCKET is not set: run me as a hive agent");
using var stopping = new CancellationTokenSource();
AppDomain.CurrentDomain.ProcessExit += (_, _) => stopping.Cancel();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopping.Cancel(); };

var backoff = TimeSpan.FromMilliseconds(100);
while (!stopping.IsCancellationRequested)
{
    try
    {
        await RunAsync(socketPath, stopping.Token);
    }
    catch (Exception e) when (e is IOException or SocketException or JsonException)
    {
        // The host restarted or went away: connect again, a little later each time.
        Console.Error.WriteLine($"echo-agent: {e.Message}; reconnecting in {backoff.TotalMilliseconds} ms");
        try { await Task.Delay(backoff, stopping.Token); } catch (OperationCanceledException) { break; }
        backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 5_000));
    }
    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
    {
        break;
    }
}
return 0;

async Task RunAsync(string path, CancellationToken ct)
{
    using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
    await using var stream = new NetworkStream(socket, ownsSocket: false);
    using var reader = new StreamReader(stream, new UTF8Encoding(false));
    await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };

    async Task<JsonNode> CallAsync(JsonObject request)
    {
        await writer.WriteLineAsync(request.ToJsonString().AsMemory(), ct);
        var line = await reader.ReadLineAsync(ct) ?? throw new IOException("the host closed the socket");
        return JsonNode.Parse(line) ?? throw new IOException("the host sent an empty reply");
    }

    var me = (await CallAsync(new JsonObject { ["op"] = "whoami" }))["name"]?.GetValue<string>();
    Console.WriteLine($"echo-agent: I am {me}");
    backoff = TimeSpan.FromMilliseconds(100);
    long? toAck = null;
    while (true)
    {
        var request = new JsonObject { ["op"] = "recv", ["wait_ms"] = 30_000 };
        if (toAck is { } id) request["ack"] = id;
        var reply = await CallAsync(request);
        toAck = null;
        if (reply["ok"]?.GetValue<bool>() != true)
        {
            Console.Error.WriteLine($"echo-agent: recv refused: {reply["error"]}");
            await Task.Delay(1_000, ct);
            continue;
        }
        if (reply["message"] is not JsonObject message) continue; // the long-poll ran out: ask again
        var messageId = message["id"]!.GetValue<long>();
        var from = message["from"]?.GetValue<string>() ?? "";
        var body = message["body"]?.GetValue<string>() ?? "";
        Console.WriteLine($"echo-agent: #{messageId} from {from}: {body}");
        if (from != "hive" && from != me && !body.StartsWith(Marker, StringComparison.Ordinal))
        {
            var answer = await CallAsync(new JsonObject
            {
                ["op"] = "send",
                ["to"] = from,
                ["body"] = Truncate(Marker + Reverse(body), 1024),
                ["client_id"] = $"reply-{messageId}",
            });
            if (answer["ok"]?.GetValue<bool>() != true) Console.Error.WriteLine($"echo-agent: send refused: {answer["error"]}");
        }
        toAck = messageId; // acknowledged with the next recv: answered first, so a crash in between answers again (once)
    }
}

static string Reverse(string text)
{
    // By text elements, so accents and emoji survive the reversal.
    var elements = new List<string>();
    var e = System.Globalization.StringInfo.GetTextElementEnumerator(text);
    while (e.MoveNext()) elements.Add((string)e.Current);
    elements.Reverse();
    return string.Concat(elements);
}

static string Truncate(string text, int maxBytes)
{
    if (Encoding.UTF8.GetByteCount(text) <= maxBytes) return text;
    var builder = new StringBuilder();
    var e = System.Globalization.StringInfo.GetTextElementEnumerator(text);
    while (e.MoveNext() && Encoding.UTF8.GetByteCount(builder + (string)e.Current) <= maxBytes) builder.Append((string)e.Current);
    return builder.ToString();
}
