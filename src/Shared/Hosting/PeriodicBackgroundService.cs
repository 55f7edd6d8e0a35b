using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Hosting;

/// <summary>
/// A background loop that ticks once at start-up (work that fell due while the host was down is done at once) and
/// then every <c>interval</c> on the injected clock, each tick in a DI scope of its own. A failing tick is logged and
/// the next one runs regardless; stopping the host ends the loop, between ticks or inside one.
/// </summary>
public abstract class PeriodicBackgroundService(IServiceScopeFactory scopes, TimeSpan interval, TimeProvider clock, ILogger logger)
    : BackgroundService
{
    private long _completedTicks;

    /// <summary>Ticks finished since start-up, failed ones included (tests wait on it instead of on the clock).</summary>
    public long CompletedTicks => Interlocked.Read(ref _completedTicks);

    protected ILogger Logger { get; } = logger;

    /// <summary>One tick's work; <paramref name="services"/> is this tick's scope.</summary>
    protected abstract Task TickAsync(IServiceProvider services, CancellationToken stoppingToken);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, clock);
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await TickAsync(scope.ServiceProvider, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Logger.LogError(e, "a {Loop} tick failed; the loop carries on", GetType().Name);
            }
            Interlocked.Increment(ref _completedTicks);
        }
        while (await WaitForTickAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitForTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
