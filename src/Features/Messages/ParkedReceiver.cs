namespace Hive.Features.Messages;

/// <summary>
/// A <c>recv</c> parked on an empty inbox that the message writer may claim: the writer hands out the agent's new
/// messages in the same transaction that stores them, so the <c>recv</c> answers without a take of its own. Either the
/// writer claims it or the <c>recv</c> withdraws it, never both.
/// </summary>
internal sealed class ParkedReceiver(string agent, int max)
{
    private const int Parked = 0, Claimed = 1, Withdrawn = 2;

    private readonly TaskCompletionSource<HandedOut> _handed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Its continuation (the recv's answer, up to its first wait) runs on the thread that releases it, the send's own,
    // after that send's events are out: no hand-off to the pool between a send and the answer it makes possible.
    private readonly TaskCompletionSource<HandedOut> _ready = new();
    private readonly HashSet<long> _unannounced = [];
    private int _state = Parked;

    /// <summary>Messages in flight to this receiver until <see cref="InFlightUntil"/>; none when their batch rolled back.</summary>
    public sealed record HandedOut(IReadOnlyList<MessageRow> Rows, DateTimeOffset InFlightUntil);

    public string Agent => agent;

    public int Max => max;

    /// <summary>What was handed out, once its transaction ended.</summary>
    public Task<HandedOut> Handed => _handed.Task;

    /// <summary>What was handed out, once every message of it has had its <c>sent</c> published; or none (nothing new, or rolled back).</summary>
    public Task<HandedOut> Ready => _ready.Task;

    public bool TryClaim() => Interlocked.CompareExchange(ref _state, Claimed, Parked) == Parked;

    /// <summary>False when the writer claimed it first: then <see cref="Handed"/> completes soon, with or without messages.</summary>
    public bool TryWithdraw() => Interlocked.CompareExchange(ref _state, Withdrawn, Parked) == Parked;

    /// <summary>The writer's transaction ended: <paramref name="handed"/> is in flight to this receiver (none on a rollback).</summary>
    public void Hand(HandedOut handed)
    {
        lock (_unannounced)
            foreach (var row in handed.Rows) _unannounced.Add(row.Id);
        _handed.TrySetResult(handed);
        // Nothing to answer with: the recv waits to look again, which it must not do on the writer's thread.
        if (handed.Rows.Count == 0) ThreadPool.UnsafeQueueUserWorkItem(ready => ready.TrySetResult(handed), _ready, preferLocal: false);
    }

    public void Announced(long messageId)
    {
        lock (_unannounced)
            if (!_unannounced.Remove(messageId) || _unannounced.Count > 0) return;
        _ready.TrySetResult(_handed.Task.Result);
    }
}
