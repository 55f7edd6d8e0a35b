using Hive.Shared.Hosting;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Reminders;

/// <summary>
/// Makes recurring reminders' due runs and delivers due reminders every <c>Hive:Reminders:TickSeconds</c>, the first time
/// at start-up (so reminders that fell due while the host was down go out at once, in due order).
/// </summary>
public sealed class ReminderScheduler(
    IServiceScopeFactory scopes,
    IOptions<RemindersOptions> options,
    TimeProvider clock,
    ILogger<ReminderScheduler> logger)
    : PeriodicBackgroundService(scopes, TimeSpan.FromSeconds(options.Value.TickSeconds), clock, logger)
{
    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        var mediator = services.GetRequiredService<IMediator>();
        // Recurring reminders' runs first: a run made now is an ordinary reminder, delivered in the same tick.
        await mediator.Send(new MakeDueRuns.Command(), stoppingToken);
        var result = await mediator.Send(new DeliverDueReminders.Command(), stoppingToken);
        if (result.Delivered + result.Failed > 0)
            Logger.LogDebug("reminder tick: {Delivered} delivered, {Failed} failed", result.Delivered, result.Failed);
    }
}
