namespace Hive.Testing;

/// <summary>
/// What a fake API was asked, in order, with waiters for a request that matches (past or future): the fakes' record.
/// </summary>
public sealed class RequestLog<T>(string what)
{
    private readonly Lock _lock = new();
    private readonly List<T> _requests = [];
    private readonly List<(Func<T, bool> Match, TaskCompletionSource<T> Seen)> _waiters = [];

    public int Count
    {
        get { lock (_lock) return _requests.Count; }
    }

    public IReadOnlyList<T> All
    {
        get { lock (_lock) return _requests.ToList(); }
    }

    /// <summary>Adds <paramref name="request"/> and wakes the waiters it matches.</summary>
    public void Add(T request)
    {
        lock (_lock)
        {
            _requests.Add(request);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var (match, seen) = _waiters[i];
                try
                {
                    if (!match(request)) continue;
                    seen.TrySetResult(request);
                }
                catch (Exception e)
                {
                    seen.TrySetException(e);
                }
                _waiters.RemoveAt(i);
            }
        }
    }

    /// <summary>The first request, past or future, that <paramref name="match"/> accepts; a <see cref="TimeoutException"/> listing what came instead.</summary>
    public async Task<T> WaitForAsync(Func<T, bool> match, TimeSpan? timeout = null)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(30);
        TaskCompletionSource<T> seen;
        lock (_lock)
        {
            if (_requests.FirstOrDefault(match) is { } already) return already;
            seen = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, seen));
        }
        try
        {
            return await seen.Task.WaitAsync(wait);
        }
        catch (TimeoutException)
        {
            lock (_lock) _waiters.RemoveAll(w => w.Seen == seen);
            var got = All;
            throw new TimeoutException($"no such request to {what} within {wait.TotalSeconds} s; it got {got.Count}:\n" + string.Join("\n", got));
        }
    }

    /// <summary>Ends every wait (the fake is going away).</summary>
    public void CancelWaiters()
    {
        lock (_lock)
        {
            foreach (var (_, seen) in _waiters) seen.TrySetCanceled();
            _waiters.Clear();
        }
    }
}
