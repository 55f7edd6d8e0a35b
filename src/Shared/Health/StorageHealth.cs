using Hive.Shared.Errors;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Health;

/// <summary>
/// The database's health as the host last saw it: degraded from the first storage fault (disk full, a read-only or
/// failing database) until a write commits again. Every place that commits or answers a caller reports here; the
/// transitions are logged once each, naming the database file, and <c>GET /healthz</c> shows the state.
/// </summary>
public sealed class StorageHealth(HivePaths paths, TimeProvider clock, ILogger<StorageHealth> logger)
{
    private readonly Lock _lock = new();
    private StorageFault? _fault;

    /// <summary>The current fault (the latest error and when it was seen, and since when storage has failed); null when healthy.</summary>
    public StorageFault? Fault { get { lock (_lock) return _fault; } }

    /// <summary>Records a storage fault (anything else is ignored); returns whether it was one.</summary>
    public bool Observe(Exception exception)
    {
        if (HiveError.StorageFault(exception) is not { } code) return false;
        var now = clock.GetUtcNow();
        bool changed;
        lock (_lock)
        {
            changed = _fault is null || _fault.Code != code;
            _fault = new StorageFault(code, exception.Message, _fault?.Since ?? now, now, (_fault?.Count ?? 0) + 1);
        }
        if (changed)
            logger.LogError("storage fault ({Code}) on the database {Database}: {Error}; writes fail until it is fixed",
                code, paths.Database, exception.Message);
        return true;
    }

    /// <summary>A write committed: storage works again.</summary>
    public void WriteSucceeded()
    {
        StorageFault? was;
        lock (_lock)
        {
            if (_fault is null) return;
            was = _fault;
            _fault = null;
        }
        logger.LogWarning("storage recovered: a write to {Database} committed again ({Count} failures since {Since:O})",
            paths.Database, was.Count, was.Since);
    }
}

public sealed record StorageFault(string Code, string Error, DateTimeOffset Since, DateTimeOffset LastAt, long Count);
