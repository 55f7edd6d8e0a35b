using System.Collections.Concurrent;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// Requests sent once the change that decided them has committed (what an approval starts: a spawned agent's start, a
/// destroy, a deploy), each in a DI scope of its own; a failure is logged. One sent with a key can be awaited by it (the
/// operator's own configuration change answers once its deploy is done).
/// </summary>
internal sealed class BackgroundRequests(IServiceScopeFactory scopes, ILogger<BackgroundRequests> logger)
{
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);

    public void Send(string what, Func<IMediator, Task> send, string? key = null)
    {
        var work = Task.Run(async () =>
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await send(scope.ServiceProvider.GetRequiredService<IMediator>());
            }
            catch (Exception e)
            {
                logger.LogError("containers: {What} failed: {Reason}", what, e.Message);
            }
        });
        if (key is null) return;
        _running[key] = work;
        _ = work.ContinueWith(_ => _running.TryRemove(new KeyValuePair<string, Task>(key, work)), TaskScheduler.Default);
    }

    /// <summary>Completes when the request sent with <paramref name="key"/> has been handled (at once when none runs).</summary>
    public Task Of(string key) => _running.TryGetValue(key, out var work) ? work : Task.CompletedTask;
}
