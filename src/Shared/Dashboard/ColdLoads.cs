using System.Text.Json;
using Hive.Contracts.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Hive.Shared.Dashboard;

/// <summary>
/// Cold loads of <c>/api/state</c> share their builds: at most one build runs at a time, and every request that arrives
/// while one runs waits for the next build, which starts when the running one ends and serves all of them. A build that
/// starts after a request arrived sees every change acknowledged before it, so sharing it is invisible to the client
/// (its <c>seq</c> still names exactly the events folded in). Five pages cold-loading in a loop then cost one build at a
/// time instead of five, and the agents' sends keep a core (a send once waited behind five concurrent cold loads).
/// </summary>
public sealed class ColdLoads(IServiceScopeFactory scopes, IHostApplicationLifetime lifetime)
{
    private readonly Lock _lock = new();
    private bool _building;
    private TaskCompletionSource<byte[]>? _queued;

    /// <summary>Cold loads asked for, and builds started, since the host started: tests read them to see loads shared.</summary>
    public long Requests => Interlocked.Read(ref _requests);
    public long Builds => Interlocked.Read(ref _builds);
    private long _requests;
    private long _builds;

    /// <summary>The snapshot as UTF-8 JSON, from a build that started no earlier than this call.</summary>
    public Task<byte[]> GetAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref _requests);
        TaskCompletionSource<byte[]> build;
        var startNow = false;
        lock (_lock)
        {
            if (_queued is not null) build = _queued;
            else
            {
                build = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_building) _queued = build;
                else _building = startNow = true;
            }
        }
        if (startNow) _ = Task.Run(() => RunAsync(build));
        // One waiter's abort must not cancel what the others wait for: only the waiting is cancellable.
        return build.Task.WaitAsync(ct);
    }

    private async Task RunAsync(TaskCompletionSource<byte[]>? build)
    {
        while (build is not null)
        {
            Interlocked.Increment(ref _builds);
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var state = await DashboardModule.BuildSnapshotAsync(scope.ServiceProvider, lifetime.ApplicationStopping);
                build.SetResult(JsonSerializer.SerializeToUtf8Bytes(state, HiveJson.Options));
            }
            catch (Exception e)
            {
                build.SetException(e); // each waiter sees it as its own failure (a storage fault → 503)
            }
            lock (_lock)
            {
                build = _queued;
                _queued = null;
                if (build is null) _building = false;
            }
        }
    }
}
