namespace Hive.Host.Auth;

/// <summary>
/// Wrong sign-ins (the link, a Bearer or a session cookie that is not the operator's): a token bucket of
/// <c>perMinute</c>, refilled at that rate, and one log line per minute with their count instead of one line each.
/// One bucket for the whole host: every caller is on loopback, so the remote address tells no one apart. The right
/// token never reaches the bucket (it is compared first, which costs a hash), so no number of wrong tries by someone
/// else can lock the operator out.
/// </summary>
public sealed class WrongSignIns : IDisposable
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly object _lock = new();
    private readonly int _perMinute;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private double _tokens;
    private long _refilledAt;
    private int _answered, _refused;
    private ITimer? _summary;

    public WrongSignIns(int perMinute, TimeProvider clock, ILogger logger)
    {
        _perMinute = Math.Max(1, perMinute);
        _clock = clock;
        _logger = logger;
        _tokens = _perMinute;
        _refilledAt = clock.GetTimestamp();
    }

    /// <summary>
    /// Counts one wrong sign-in. True: answer it as usual (401, or the sign-in page's failure); false: the bucket is empty,
    /// answer 429 with <paramref name="retryAfter"/>.
    /// </summary>
    public bool TryCount(out TimeSpan retryAfter)
    {
        lock (_lock)
        {
            var now = _clock.GetTimestamp();
            _tokens = Math.Min(_perMinute, _tokens + _clock.GetElapsedTime(_refilledAt, now).TotalMinutes * _perMinute);
            _refilledAt = now;
            // The first of a quiet spell opens a one-minute window; its end logs the count (at most a line a minute).
            _summary ??= _clock.CreateTimer(_ => Summarize("in the last minute"), null, Window, Timeout.InfiniteTimeSpan);
            if (_tokens >= 1)
            {
                _tokens--;
                _answered++;
                retryAfter = TimeSpan.Zero;
                return true;
            }
            _refused++;
            retryAfter = TimeSpan.FromMinutes((1 - _tokens) / _perMinute);
            return false;
        }
    }

    private void Summarize(string when)
    {
        int answered, refused;
        lock (_lock)
        {
            (answered, refused) = (_answered, _refused);
            (_answered, _refused) = (0, 0);
            _summary?.Dispose();
            _summary = null;
        }
        if (answered + refused == 0) return;
        if (refused == 0)
            _logger.LogWarning("{Count} wrong sign-in(s) {When}", answered, when);
        else
            _logger.LogWarning("{Count} wrong sign-ins {When}; {Refused} of them were answered 429 (more than {PerMinute} a minute)",
                answered + refused, when, refused, _perMinute);
    }

    /// <summary>The count of a window still open when the host stops is logged rather than lost.</summary>
    public void Dispose()
    {
        try
        {
            Summarize("before the host stopped");
        }
        catch (ObjectDisposedException)
        {
            // The logging providers went first.
        }
    }
}
