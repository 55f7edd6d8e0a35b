namespace Hive.Shared.Limits;

/// <summary>
/// Something done at most once per key per <paramref name="interval"/> (a question looked at, a refusal told): in memory,
/// so a restart may do it once more. Keys not seen for an interval are dropped once there are more than
/// <paramref name="keep"/>, so an endless stream of new keys stays bounded.
/// </summary>
public sealed class OncePer<TKey>(TimeSpan interval, int keep = 10_000) where TKey : notnull
{
    private readonly Dictionary<TKey, DateTimeOffset> _last = [];
    private readonly Lock _lock = new();

    public TimeSpan Interval => interval;

    /// <summary>Whether it is due for <paramref name="key"/> at <paramref name="now"/>; when it is, it counts as done now.</summary>
    public bool Due(TKey key, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_last.TryGetValue(key, out var last) && now - last < interval) return false;
            if (_last.Count > keep) foreach (var old in _last.Where(e => now - e.Value >= interval).Select(e => e.Key).ToList()) _last.Remove(old);
            _last[key] = now;
            return true;
        }
    }

    /// <summary>Forgets that it was done for <paramref name="key"/> (it failed): the next time is due at once.</summary>
    public void Forget(TKey key)
    {
        lock (_lock) _last.Remove(key);
    }
}
