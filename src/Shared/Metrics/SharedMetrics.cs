using System.Diagnostics.Metrics;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Health;

namespace Hive.Shared.Metrics;

/// <summary>The kernel's own figures, read when scraped: open dashboard streams, the database's health and its lock waits.</summary>
public sealed class SharedMetrics : HiveMetrics
{
    public SharedMetrics(IMeterFactory meters, DashboardHub hub, StorageHealth storage, IDb db, WalCheckpointer checkpointer) : base(meters, "Shared")
    {
        Meter.CreateObservableGauge("hive_sse_subscribers", () => hub.OpenSubscriptions,
            description: "Open dashboard event streams (GET /api/events).");
        // The same fact /healthz shows: 0 from the first storage fault until a write commits again.
        Meter.CreateObservableGauge("hive_storage_healthy", () => storage.Fault is null ? 1 : 0,
            description: "1 while the database works, 0 while storage fails (see /healthz).");
        Meter.CreateObservableCounter("hive_db_busy_waits_total", () => db.BusyWaits,
            description: "Times a database statement met another writer's lock and waited for it.");
        Meter.CreateObservableCounter("hive_db_checkpoints_total", () => checkpointer.Checkpoints,
            description: "Write-ahead log checkpoints run in the background (each after the log grew past 1,000 frames).");
        Meter.CreateObservableCounter("hive_db_log_restarts_total", () => checkpointer.Restarts,
            description: "RESTART checkpoints run in the background: each lets the next write start the log again (past 4,000 frames).");
    }
}
