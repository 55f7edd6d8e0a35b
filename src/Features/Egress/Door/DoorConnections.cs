using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Egress.Door;

/// <summary>
/// The connections a kind of door has accepted, each run on its own: a failure is logged (it ends only that connection),
/// and the host's stop cuts those still open and waits for them to end.
/// </summary>
internal sealed class DoorConnections(string kind, ILogger logger)
{
    private readonly ConcurrentDictionary<Task, bool> _running = new();
    private readonly CancellationTokenSource _stopping = new();

    public void Run(string agent, Func<CancellationToken, Task> connection)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await connection(_stopping.Token);
            }
            catch (Exception e)
            {
                logger.LogError(e, "{Kind}: a connection of {Agent} failed", kind, agent);
            }
        });
        _running[task] = true;
        task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
    }

    public async Task StopAsync()
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_running.Keys);
    }
}
