using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hive.Contracts.Json;

namespace Hive.Testing;

/// <summary>
/// One event of the stream. <see cref="ReceivedAt"/> is the <see cref="Stopwatch"/> timestamp of the read that brought
/// its last bytes, taken before any parsing (what a latency measurement needs); the data is decoded only when asked.
/// </summary>
public sealed class SseEvent(long? id, string type, ReadOnlyMemory<byte> rawData, long receivedAt)
{
    private string? _data;

    public long? Id { get; } = id;
    public string Type { get; } = type;
    /// <summary>The data lines as UTF-8 bytes, joined by '\n'.</summary>
    public ReadOnlyMemory<byte> RawData { get; } = rawData;
    public long ReceivedAt { get; } = receivedAt;

    public string Data => _data ??= Encoding.UTF8.GetString(RawData.Span);

    public JsonElement Json
    {
        get
        {
            using var document = JsonDocument.Parse(RawData);
            return document.RootElement.Clone();
        }
    }

    /// <summary>The data read as the event's payload record (the host's snake_case).</summary>
    public T Payload<T>() => JsonSerializer.Deserialize<T>(RawData.Span, HiveJson.Options)!;

    /// <summary>The first <c>"id":N</c> in the data without parsing the JSON (a message's id in <c>sent</c> and <c>delivered</c>).</summary>
    public long DataId()
    {
        var span = RawData.Span;
        var at = span.IndexOf("\"id\":"u8);
        if (at < 0 || !Utf8Parser.TryParse(span[(at + 5)..], out long value, out _))
            throw new FormatException($"no id in the data of a '{Type}' event: {Data}");
        return value;
    }

    public override string ToString() => $"{Type} #{Id}: {Data}";
}

/// <summary>
/// The one SSE reader of the tests and the benchmarks: <c>GET /api/events</c> read as raw bytes as the server flushes
/// them (HttpClient undoes the chunking), cut into events at blank lines, comment lines (heartbeats) counted. Each
/// event is stamped with the moment its bytes were read, before any parsing, so a benchmark tab measures arrival,
/// not this reader.
/// </summary>
public sealed class SseStream : IAsyncDisposable
{
    private readonly HttpClient? _ownedHttp;
    private readonly HttpResponseMessage _response;
    private readonly Stream _stream;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start; // first unparsed byte
    private int _end;   // one past the last byte read
    private long _readAt;

    private SseStream(HttpClient? ownedHttp, HttpResponseMessage response, Stream stream)
    {
        _ownedHttp = ownedHttp;
        _response = response;
        _stream = stream;
    }

    public HttpResponseMessage Response => _response;
    public SseEvent Hello { get; private set; } = null!;
    public int CommentsSeen { get; private set; }

    /// <summary>Opens the stream on a client of its own and waits for the server's <c>hello</c>.</summary>
    /// <param name="token">The operator token, sent as Bearer (null when sign-in is off).</param>
    public static async Task<SseStream> OpenAsync(Uri baseAddress, string? token, long? lastEventId = null) =>
        await OpenAsync(baseAddress, token, "/api/events", lastEventId);

    /// <summary>The stream at <paramref name="path"/> (e.g. <c>/api/events?agent=alice</c>, an agent's page's stream).</summary>
    public static async Task<SseStream> OpenAsync(Uri baseAddress, string? token, string path, long? lastEventId = null)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            return await OpenAsync(http, lastEventId, owned: true, path);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>Opens the stream on <paramref name="http"/> (its base address and credentials; the caller keeps it) and waits for <c>hello</c>.</summary>
    public static Task<SseStream> OpenAsync(HttpClient http, long? lastEventId = null) => OpenAsync(http, lastEventId, owned: false);

    private static async Task<SseStream> OpenAsync(HttpClient http, long? lastEventId, bool owned, string path = "/api/events")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is { } id) request.Headers.Add("Last-Event-ID", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        SseStream? stream = null;
        try
        {
            response.EnsureSuccessStatusCode();
            stream = new SseStream(owned ? http : null, response, await response.Content.ReadAsStreamAsync());
            var hello = await stream.NextAsync(TimeSpan.FromSeconds(10)) ?? throw new IOException("the stream ended before its hello");
            if (hello.Type != "hello") throw new IOException($"the stream began with '{hello.Type}', not hello");
            stream.Hello = hello;
            return stream;
        }
        catch
        {
            if (stream is not null) await stream.DisposeAsync(owningClient: false);
            else response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// How long a test waits for an event it expects: generous, because it bounds a test that would otherwise hang and is
    /// not a latency check (a loaded machine takes seconds).
    /// </summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>The next event within <see cref="Patience"/>, or null when the server ended the stream.</summary>
    public Task<SseEvent?> NextAsync() => NextAsync(Patience);

    /// <summary>The next event, or null when the server ended the stream. Throws on timeout.</summary>
    public async Task<SseEvent?> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await NextAsync(cts.Token);
    }

    /// <summary>The next event, or null when the server ended the stream.</summary>
    public async ValueTask<SseEvent?> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TakeEvent() is { } next) return next;
            if (!await ReadAsync(cancellationToken)) return null;
        }
    }

    /// <summary>Reads until <paramref name="count"/> comment lines (heartbeats) have arrived.</summary>
    public async Task WaitForCommentsAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (CommentsSeen < count)
        {
            if (TakeEvent() is not null) continue;
            if (!await ReadAsync(cts.Token)) throw new IOException("the stream ended");
        }
    }

    /// <summary>Reads events until one of <paramref name="type"/> satisfying <paramref name="match"/> arrives (by default within <see cref="Patience"/>).</summary>
    public async Task<SseEvent> WaitForAsync(string type, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no '{type}' event in time");
            var next = await NextAsync(left) ?? throw new IOException("the stream ended");
            if (next.Type == type && (match is null || match(next.Json))) return next;
        }
    }

    /// <summary><see cref="WaitForAsync"/> reading each event of <paramref name="type"/> as its payload record.</summary>
    public async Task<T> WaitForPayloadAsync<T>(string type, Func<T, bool>? match = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no '{type}' event in time");
            var next = await NextAsync(left) ?? throw new IOException("the stream ended");
            if (next.Type != type) continue;
            var payload = next.Payload<T>();
            if (match is null || match(payload)) return payload;
        }
    }

    private async ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            else
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }
        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        _readAt = Stopwatch.GetTimestamp();
        _end += read;
        return read > 0;
    }

    /// <summary>Cuts the next complete block out of the buffer: an event, or null when none is complete yet.</summary>
    private SseEvent? TakeEvent()
    {
        while (true)
        {
            var pending = _buffer.AsSpan(_start, _end - _start);
            var blank = pending.IndexOf("\n\n"u8);
            if (blank < 0)
            {
                if (_start == _end) _start = _end = 0;
                return null;
            }
            var block = pending[..blank];
            _start += blank + 2;
            if (Parse(block) is { } parsed) return parsed;
        }
    }

    private SseEvent? Parse(ReadOnlySpan<byte> block)
    {
        long? id = null;
        string? type = null;
        var data = new List<byte>();
        var anyData = false;
        foreach (var range in block.Split((byte)'\n'))
        {
            var line = block[range];
            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            if (line.Length == 0) continue;
            if (line[0] == ':')
            {
                CommentsSeen++;
                continue;
            }
            var colon = line.IndexOf((byte)':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? [] : line[(colon + 1)..];
            if (value.Length > 0 && value[0] == ' ') value = value[1..];
            if (field.SequenceEqual("id"u8))
            {
                id = Utf8Parser.TryParse(value, out long parsed, out var consumed) && consumed == value.Length
                    ? parsed
                    : throw new FormatException("an id that is not a number: " + Encoding.UTF8.GetString(value));
            }
            else if (field.SequenceEqual("event"u8))
            {
                type = TypeName(value);
            }
            else if (field.SequenceEqual("data"u8))
            {
                if (anyData) data.Add((byte)'\n');
                data.AddRange(value);
                anyData = true;
            }
        }
        if (type is null && !anyData && id is null) return null; // comments only
        return new SseEvent(id, type ?? "message", data.ToArray(), _readAt);
    }

    private static readonly (byte[] Bytes, string Name)[] KnownTypes =
        [.. new[] { "sent", "delivered", "hello", "resync" }.Select(name => (Encoding.ASCII.GetBytes(name), name))];

    /// <summary>The event's name; the busiest ones without a new string each time.</summary>
    private static string TypeName(ReadOnlySpan<byte> value)
    {
        foreach (var (bytes, name) in KnownTypes)
            if (value.SequenceEqual(bytes)) return name;
        return Encoding.UTF8.GetString(value);
    }

    public ValueTask DisposeAsync() => DisposeAsync(owningClient: true);

    private ValueTask DisposeAsync(bool owningClient)
    {
        _stream.Dispose();
        _response.Dispose();
        if (owningClient) _ownedHttp?.Dispose();
        return ValueTask.CompletedTask;
    }
}
