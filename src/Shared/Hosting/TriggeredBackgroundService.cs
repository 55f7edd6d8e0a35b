using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Hosting;

/// <summary>
/// A background loop that makes a pass when woken (<see cref="WakeSignal"/>: wakes during a pass make one more pass, never
/// a queue) or, with an <c>idle</c> time, when that long has passed on the injected clock since the last pass ended. With
/// <c>passAtStart</c> it makes one at start-up too. A failing pass is logged and the loop carries on; stopping the host
/// ends it, between passes or inside one. Beside <see cref="PeriodicBackgroundService"/>, which ticks at a fixed rate.
/// </summary>
public abstract class TriggeredBackgroundService(WakeSignal signal, TimeSpan? idle, bool passAtStart, TimeProvider clock, ILogger logger)
    : BackgroundService
{
    private long _completedPasses;

    /// <summary>Passes finished since start-up, failed ones included (tests wait on it instead of on the clock).</summary>
    public long CompletedPasses => Interlocked.Read(ref _completedPasses);

    protected ILogger Logger { get; } = logger;

    protected TimeProvider Clock { get; } = clock;

    /// <summary>Asks for a pass: at once when the loop waits, else one more after the running one.</summary>
    public void Wake() => signal.Wake();

    protected abstract Task PassAsync(CancellationToken stoppingToken);

    /// <summary>Says that a pass failed (the loop carries on either way).</summary>
    protected virtual void PassFailed(Exception e) => Logger.LogError(e, "a {Loop} pass failed; the loop carries on", GetType().Name);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!passAtStart && !await WaitAsync(signal.Pending, stoppingToken)) return;
        while (true)
        {
            var woken = signal.Take(); // before the pass looks: a wake during it is kept for the next
            try
            {
                await PassAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                PassFailed(e);
            }
            Interlocked.Increment(ref _completedPasses);
            if (!await WaitAsync(woken, stoppingToken)) return;
        }
    }

    /// <returns>False when the host is stopping.</returns>
    private async Task<bool> WaitAsync(Task woken, CancellationToken stoppingToken)
    {
        try
        {
            if (idle is { } time)
            {
                using var waited = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                await Task.WhenAny(woken, Task.Delay(time, Clock, waited.Token));
                await waited.CancelAsync(); // the delay's timer ends here when the wake came first
            }
            else
                await woken.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        return !stoppingToken.IsCancellationRequested;
    }
}
