using Hive.Shared.Data;
using Hive.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Egress.Record;

/// <summary>Egress attempts older than <see cref="EgressOptions.RetainDays"/> are removed hourly, in small batches (the audit log keeps its own copy longer).</summary>
internal sealed class AttemptRetention(IServiceScopeFactory scopes, IOptions<EgressOptions> options, TimeProvider clock, ILogger<AttemptRetention> logger)
    : PeriodicBackgroundService(scopes, TimeSpan.FromHours(1), clock, logger)
{
    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var total = await BatchedDelete.RunAsync(services.GetRequiredService<IDb>(), """
            DELETE FROM egress_attempts WHERE id IN (SELECT id FROM egress_attempts WHERE started_at < @cutoff ORDER BY id LIMIT @BatchSize)
            """, now.AddDays(-options.Value.RetainDays), 1000, services.GetRequiredService<TimeProvider>(), _ => { }, stoppingToken);
        if (total > 0) Logger.LogInformation("egress: removed {Count} attempts older than {Days} days", total, options.Value.RetainDays);
    }
}
