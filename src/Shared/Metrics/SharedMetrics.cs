using System.Diagnostics.Metrics;
using Hive.Shared.Dashboard;
using Hive.Shared.Health;

namespace Hive.Shared.Metrics;

/// <summary>The kernel's own figures, read when scraped: open dashboard streams and the database's health.</summary>
public sealed class SharedMetrics : HiveMetrics
{
    public SharedMetrics(IMeterFactory meters, DashboardHub hub, StorageHealth storage) : base(meters, "Shared")
    {
        Meter.CreateObservableGauge("hive_sse_subscribers", () => hub.OpenSubscriptions,
            description: "Open dashboard event streams (GET /api/events).");
        // The same fact /healthz shows: 0 from the first storage fault until a write commits again.
        Meter.CreateObservableGauge("hive_storage_healthy", () => storage.Fault is null ? 1 : 0,
            description: "1 while the database works, 0 while storage fails (see /healthz).");
    }
}
