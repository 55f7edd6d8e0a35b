using System.Globalization;
using Hive.Shared.Errors;

namespace Hive.Shared.Limits;

/// <summary>
/// What each agent may store in one slice per clock hour (UTC), in bytes: a full disk stops the whole hive, so no agent may
/// grow the database faster than this, whatever each request's own cap. Each slice keeps one for its own writes and
/// counts them in memory: a send is on the hot path and pays a lock and a lookup, not a query. The count is not a second
/// truth: it is read from the slice's own rows of this hour when first used (<paramref name="storedThisHour"/>), so a
/// restart forgives nothing.
/// </summary>
/// <param name="limit">Bytes per agent per hour.</param>
/// <param name="what">What is counted, for the refusal: "transcript text", "message bodies".</param>
/// <param name="key">The configuration key of the limit, for the refusal.</param>
/// <param name="storedThisHour">The slice's rows since the given hour began: bytes by agent.</param>
public sealed class HourlyByteBudget(
    long limit, string what, string key, TimeProvider clock, Func<DateTimeOffset, IReadOnlyDictionary<string, long>> storedThisHour)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Usage> _used = new(StringComparer.Ordinal);
    private DateTimeOffset? _hour;

    private sealed class Usage
    {
        public long Bytes;
        public DateTimeOffset? RefusedSince;
    }

    public long Limit => limit;

    /// <summary>
    /// Counts <paramref name="bytes"/> more for <paramref name="agent"/>, or refuses (<c>too_many</c>, 429, saying the
    /// limit and when it resets) and counts nothing. A caller whose write then does not happen gives them back.
    /// </summary>
    public void Take(string agent, long bytes)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            var usage = UsageOf(agent, now);
            if (usage.Bytes + bytes > limit)
            {
                usage.RefusedSince ??= now;
                throw new TooManyException(
                    $"{agent} has stored {usage.Bytes} bytes of {what} this hour; the limit is {limit} bytes an hour per agent ({key}), "
                    + $"so this {bytes} bytes are refused; the count starts again at {NextHour(now).ToString("HH:mm", CultureInfo.InvariantCulture)} UTC");
            }
            usage.Bytes += bytes;
        }
    }

    /// <summary>Gives back what <see cref="Take"/> counted for a write that did not happen (rolled back, or a retry that stored nothing).</summary>
    public void GiveBack(string agent, long bytes)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            if (_hour != HourOf(now)) return; // counted in an hour that is over
            var usage = UsageOf(agent, now);
            usage.Bytes = Math.Max(0, usage.Bytes - bytes);
        }
    }

    /// <summary>What <paramref name="agent"/> has stored this hour, as its row shows it.</summary>
    public StorageBudget Of(string agent)
    {
        lock (_lock)
        {
            var usage = UsageOf(agent, clock.GetUtcNow());
            return new StorageBudget(usage.Bytes, limit, usage.RefusedSince);
        }
    }

    private Usage UsageOf(string agent, DateTimeOffset now)
    {
        var hour = HourOf(now);
        if (_hour != hour)
        {
            _used.Clear();
            // Only at the first use: a later hour starts from nothing, every write since counted here.
            if (_hour is null)
                foreach (var (name, bytes) in storedThisHour(hour)) _used[name] = new Usage { Bytes = bytes };
            _hour = hour;
        }
        if (!_used.TryGetValue(agent, out var usage)) _used[agent] = usage = new Usage();
        return usage;
    }

    private static DateTimeOffset HourOf(DateTimeOffset now) => new(now.UtcDateTime.Year, now.UtcDateTime.Month, now.UtcDateTime.Day, now.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset NextHour(DateTimeOffset now) => HourOf(now).AddHours(1);
}

/// <summary>An agent's storage in one slice this hour: bytes stored, the hourly limit, and since when more was refused (null: nothing refused).</summary>
public sealed record StorageBudget(long BytesThisHour, long Limit, DateTimeOffset? RefusedSince);
