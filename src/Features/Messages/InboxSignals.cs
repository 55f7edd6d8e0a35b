using System.Collections.Concurrent;

namespace Hive.Features.Messages;

/// <summary>
/// Wakes waiting <c>recv</c> long-polls when a message for their agent commits: no polling. A waiter takes the
/// current signal before it looks at the table, so an arrival between its look and its wait still wakes it.
/// </summary>
internal sealed class InboxSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);

    public Task Current(string agent) =>
        _signals.GetOrAdd(agent, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(string agent)
    {
        if (_signals.TryRemove(agent, out var signal)) signal.TrySetResult();
    }
}
