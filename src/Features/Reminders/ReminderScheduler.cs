using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Reminders;

/// <summary>
/// Ticks every <c>Hive:Reminders:TickSeconds</c>, the first time at start-up (so reminders that fell due while the
/// host was down go out at once, in due order). A failing tick is logged; the next one runs regardless.
/// </summary>
public sealed class ReminderScheduler(
    IServiceScopeFactory scopes,
    IOptions<RemindersOptions> options,
    TimeProvider clock,
    ILogger<ReminderScheduler> logger) : BackgroundService
{
    private long _completedTicks;

    /// <summary>Ticks finished since start-up (tests wait on it instead of on the clock).</summary>
    public long CompletedTicks => Interlocked.Read(ref _completedTicks);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.TickSeconds), clock);
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var result = await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new DeliverDueReminders.Command(), stoppingToken);
                if (result.Delivered + result.Failed > 0)
                    logger.LogDebug("reminder tick: {Delivered} delivered, {Failed} failed", result.Delivered, result.Failed);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "a reminder tick failed; the scheduler carries on");
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
