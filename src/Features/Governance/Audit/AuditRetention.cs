using Hive.Shared.Data;
using Hive.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>The <c>Hive:Audit</c> configuration section.</summary>
public sealed class AuditOptions
{
    /// <summary>Audit entries older than this are removed.</summary>
    public int RetainDays { get; set; } = 90;
}

/// <summary>Audit entries older than <see cref="AuditOptions.RetainDays"/> are removed hourly, in small batches (the log is otherwise append-only).</summary>
internal sealed class AuditRetention(IServiceScopeFactory scopes, IOptions<AuditOptions> options, TimeProvider clock, ILogger<AuditRetention> logger)
    : PeriodicBackgroundService(scopes, TimeSpan.FromHours(1), clock, logger)
{
    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var total = await BatchedDelete.RunAsync(services.GetRequiredService<IDb>(), """
            DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < @cutoff ORDER BY id LIMIT @BatchSize)
            """, now.AddDays(-options.Value.RetainDays), 1000, services.GetRequiredService<TimeProvider>(), _ => { }, stoppingToken);
        if (total > 0) Logger.LogInformation("audit: removed {Count} entries older than {Days} days", total, options.Value.RetainDays);
    }
}
