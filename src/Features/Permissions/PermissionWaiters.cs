using System.Collections.Concurrent;

namespace Hive.Features.Permissions;

/// <summary>
/// The harnesses waiting for a permission question's answer, by request id: woken when its decision has committed. A
/// waiter registers before it reads the row, so a decision that lands in between is seen by the read or wakes it.
/// </summary>
internal sealed class PermissionWaiters
{
    private readonly ConcurrentDictionary<long, TaskCompletionSource> _waiting = new();

    public Task Register(long id) => _waiting.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Forget(long id) => _waiting.TryRemove(id, out _);

    public void Release(long id)
    {
        if (_waiting.TryRemove(id, out var waiter)) waiter.TrySetResult();
    }
}
