using System.Buffers.Text;
using System.Diagnostics;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// Counts <c>sent</c> events across every subscriber of a case, so the sender can wait until each subscriber has
/// seen its message before it sends the next one.
/// </summary>
public sealed class SseProbe
{
    private TaskCompletionSource _all = Completed();
    private int _expected;
    private int _observed;

    /// <summary>Call before writing a send: it completes <see cref="AllObserved"/> after <paramref name="expected"/> observations.</summary>
    public void Arm(int expected)
    {
        Volatile.Write(ref _all, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Volatile.Write(ref _observed, 0);
        Volatile.Write(ref _expected, expected);
    }

    public Task AllObserved => Volatile.Read(ref _all).Task;

    internal void Observed()
    {
        if (Interlocked.Increment(ref _observed) == Volatile.Read(ref _expected)) Volatile.Read(ref _all).TrySetResult();
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }
}

/// <summary>
/// One dashboard tab: <c>GET /api/events</c> read as raw bytes as they arrive (HttpClient undoes the chunking).
/// Each <c>sent</c> event is stamped with the time its bytes were read, before any parsing.
/// </summary>
public sealed class SseSubscriber : IAsyncDisposable
{
    private static readonly byte[] EventSeparator = "\n\n"u8.ToArray();
    private static readonly byte[] IdKey = "\"id\":"u8.ToArray();

    private readonly HttpResponseMessage _response;
    private readonly Stream _stream;
    private readonly SseProbe _probe;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _hello = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private Task _loop = Task.CompletedTask;

    private SseSubscriber(HttpResponseMessage response, Stream stream, SseProbe probe)
    {
        _response = response;
        _stream = stream;
        _probe = probe;
    }

    /// <summary>(message id, Stopwatch timestamp of arrival) of every <c>sent</c> event, in arrival order.</summary>
    public List<(long Id, long At)> Sent { get; } = new(4096);

    /// <summary>Subscribes and returns once the server's <c>hello</c> has been read.</summary>
    public static async Task<SseSubscriber> OpenAsync(HttpClient http, SseProbe probe)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        var subscriber = new SseSubscriber(response, await response.Content.ReadAsStreamAsync(), probe);
        subscriber._loop = subscriber.ReadLoopAsync();
        await subscriber._hello.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return subscriber;
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
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
                var read = await _stream.ReadAsync(_buffer.AsMemory(_end), _stop.Token);
                var at = Stopwatch.GetTimestamp();
                if (read == 0)
                {
                    _hello.TrySetException(new IOException("the event stream ended"));
                    return;
                }
                _end += read;
                TakeEvents(at);
            }
        }
        catch (Exception e) when (_stop.IsCancellationRequested && e is OperationCanceledException or IOException or HttpRequestException)
        {
        }
        catch (Exception e)
        {
            _hello.TrySetException(e);
            Console.Error.WriteLine($"SSE subscriber failed: {e.GetType().Name}: {e.Message}");
        }
    }

    private void TakeEvents(long at)
    {
        while (true)
        {
            var block = _buffer.AsSpan(_start, _end - _start);
            var separator = block.IndexOf(EventSeparator);
            if (separator < 0) break;
            OnEvent(block[..separator], at);
            _start += separator + EventSeparator.Length;
        }
        if (_start == _end) _start = _end = 0;
    }

    private void OnEvent(ReadOnlySpan<byte> block, long at)
    {
        ReadOnlySpan<byte> type = default, data = default;
        foreach (var range in block.Split((byte)'\n'))
        {
            var line = block[range];
            if (line.StartsWith("event: "u8)) type = line["event: "u8.Length..];
            else if (line.StartsWith("data: "u8)) data = line["data: "u8.Length..];
        }

        if (type.SequenceEqual("sent"u8))
        {
            var key = data.IndexOf(IdKey);
            if (key < 0 || !Utf8Parser.TryParse(data[(key + IdKey.Length)..], out long id, out _))
                throw new FormatException("a sent event without an id");
            Sent.Add((id, at));
            _probe.Observed();
        }
        else if (type.SequenceEqual("hello"u8))
        {
            _hello.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _loop;
        _stop.Dispose();
    }
}
