namespace Hive.Shared.Hosting;

/// <summary>
/// Wakes a background loop, coalescing: a wake is kept until the loop takes it, so any number of wakes while the loop runs
/// a pass (or before it started) make exactly one more pass, never a queue. The loop calls <see cref="Take"/> before it
/// looks for work and awaits what it returns after. A slice that wakes a loop from elsewhere (a change's witness, a
/// handler) derives a named one to register.
/// </summary>
public class WakeSignal
{
    private TaskCompletionSource _next = NewSource();

    /// <summary>Completes when a wake has come that the loop has not taken yet.</summary>
    public Task Pending => Volatile.Read(ref _next).Task;

    public void Wake() => Volatile.Read(ref _next).TrySetResult();

    /// <summary>
    /// Takes the wake that has come, if one has (the look about to start covers it), and returns the task of the next one.
    /// For one loop: two callers would share a wake.
    /// </summary>
    public Task Take()
    {
        var current = Volatile.Read(ref _next);
        if (current.Task.IsCompleted) Interlocked.CompareExchange(ref _next, NewSource(), current);
        return Volatile.Read(ref _next).Task;
    }

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
