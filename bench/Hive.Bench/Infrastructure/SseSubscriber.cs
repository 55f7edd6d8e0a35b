using Hive.Testing;

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
/// One dashboard tab for the latency cases: the shared <see cref="SseStream"/> read in a loop of its own, each
/// <c>sent</c> event recorded with the moment its bytes were read (<see cref="SseEvent.ReceivedAt"/>, stamped before
/// any parsing) and reported to the case's <see cref="SseProbe"/>.
/// </summary>
public sealed class SseSubscriber : IAsyncDisposable
{
    private readonly SseStream _stream;
    private readonly SseProbe _probe;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private SseSubscriber(SseStream stream, SseProbe probe)
    {
        _stream = stream;
        _probe = probe;
        _loop = ReadLoopAsync();
    }

    /// <summary>(message id, Stopwatch timestamp of arrival) of every <c>sent</c> event, in arrival order.</summary>
    public List<(long Id, long At)> Sent { get; } = new(4096);

    /// <summary>Subscribes and returns once the server's <c>hello</c> has been read.</summary>
    public static async Task<SseSubscriber> OpenAsync(HttpClient http, SseProbe probe) => new(await SseStream.OpenAsync(http), probe);

    private async Task ReadLoopAsync()
    {
        await Task.Yield(); // the constructor returns before the first read
        try
        {
            while (await _stream.NextAsync(_stop.Token) is { } e)
            {
                if (e.Type != "sent") continue;
                Sent.Add((e.DataId(), e.ReceivedAt));
                _probe.Observed();
            }
        }
        catch (Exception e) when (_stop.IsCancellationRequested && e is OperationCanceledException or IOException or HttpRequestException or ObjectDisposedException)
        {
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"SSE subscriber failed: {e.GetType().Name}: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        await _stream.DisposeAsync();
        _stop.Dispose();
    }
}
