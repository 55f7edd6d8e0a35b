using Hive.Shared.Hosting;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// Runs <see cref="SweepTombstones"/> at start-up and every <c>Hive:Containers:TombstoneSweepMinutes</c> (an hour) while
/// retention is on; the time of the next run is what the page shows as "next purge".
/// </summary>
internal sealed class TombstoneSweeper(IServiceScopeFactory scopes, TombstoneRetention retention, TimeProvider timeProvider, ILogger<TombstoneSweeper> logger)
    : PeriodicBackgroundService(scopes, retention.SweepInterval, timeProvider, logger)
{
    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        if (retention.RetainDays is null) return;
        retention.NextSweepAt = services.GetRequiredService<TimeProvider>().GetUtcNow() + retention.SweepInterval; // before the sweep, whose event carries it
        var result = await services.GetRequiredService<IMediator>().Send(new SweepTombstones.Command(), stoppingToken);
        if (result.Purged.Count > 0)
            Logger.LogInformation("containers: the retention sweep purged {Count} tombstone(s): {Names}", result.Purged.Count, string.Join(", ", result.Purged));
    }
}
