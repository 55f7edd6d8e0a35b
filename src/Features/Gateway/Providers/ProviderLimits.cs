using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Gateway;

/// <summary>
/// What each provider last said of its limits on a successful call (requests and tokens remaining, and when they reset:
/// Anthropic's <c>anthropic-ratelimit-*</c>, OpenAI's <c>x-ratelimit-*</c>), kept in memory for the governance section,
/// and how to read the reset a 429 or 529 names (<see cref="ResetOf"/>).
/// </summary>
internal sealed class ProviderLimits(TimeProvider clock)
{
    public sealed record Limits(long? RequestsRemaining, long? TokensRemaining, DateTimeOffset? RequestsReset, DateTimeOffset? TokensReset, DateTimeOffset SeenAt);

    private readonly ConcurrentDictionary<string, Limits> _last = new(StringComparer.Ordinal);

    public Limits? Of(string provider) => _last.GetValueOrDefault(provider);

    public void Keep(string provider, HttpResponseHeaders headers)
    {
        var now = clock.GetUtcNow();
        string? Get(params string[] names) => names.Select(n => headers.TryGetValues(n, out var v) ? v.FirstOrDefault() : null).FirstOrDefault(v => v is not null);
        var requests = Long(Get("anthropic-ratelimit-requests-remaining", "x-ratelimit-remaining-requests"));
        var tokens = Long(Get("anthropic-ratelimit-tokens-remaining", "x-ratelimit-remaining-tokens"));
        if (requests is null && tokens is null) return;
        _last[provider] = new Limits(requests, tokens,
            Reset(Get("anthropic-ratelimit-requests-reset", "x-ratelimit-reset-requests"), now),
            Reset(Get("anthropic-ratelimit-tokens-reset", "x-ratelimit-reset-tokens"), now), now);
    }

    /// <summary>
    /// When a limit response says to come back: its <c>retry-after-ms</c> or <c>retry-after</c> (the provider's own word on
    /// when to retry) if it has one; else the latest reset of the limits it shows exhausted (remaining 0), not of a limit
    /// with room left (OpenAI names when each limit refills in full: its token limit's reset says nothing of a request
    /// limit reached); else the latest reset it names; null when it names none.
    /// </summary>
    public DateTimeOffset? ResetOf(IHeaderDictionary headers, DateTimeOffset now)
    {
        if (headers.TryGetValue("retry-after-ms", out var retryMs) && retryMs.Count > 0
            && double.TryParse(retryMs[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms > 0 && double.IsFinite(ms))
            return now.AddMilliseconds(Math.Min(ms, 7 * 86_400_000d));
        if (headers.RetryAfter is { Count: > 0 } retry)
        {
            var value = retry[0]!;
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && double.IsFinite(seconds))
                return now.AddSeconds(Math.Min(seconds, 7 * 86_400));
            if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) && date > now) return date;
        }
        DateTimeOffset? latest = null, latestExhausted = null;
        foreach (var (reset, remaining) in ResetHeaders)
        {
            if (!headers.TryGetValue(reset, out var v) || v.Count == 0 || Reset(v[0], now) is not { } at || at <= now) continue;
            if (latest is null || at > latest) latest = at;
            if (headers.TryGetValue(remaining, out var left) && left.Count > 0 && Long(left[0]) == 0 && (latestExhausted is null || at > latestExhausted))
                latestExhausted = at;
        }
        return latestExhausted ?? latest;
    }

    /// <summary>Each limit's reset header with the header of what remains of it.</summary>
    private static readonly (string Reset, string Remaining)[] ResetHeaders =
    [
        ("anthropic-ratelimit-requests-reset", "anthropic-ratelimit-requests-remaining"),
        ("anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-tokens-remaining"),
        ("anthropic-ratelimit-input-tokens-reset", "anthropic-ratelimit-input-tokens-remaining"),
        ("anthropic-ratelimit-output-tokens-reset", "anthropic-ratelimit-output-tokens-remaining"),
        ("x-ratelimit-reset-requests", "x-ratelimit-remaining-requests"),
        ("x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens"),
    ];

    private static long? Long(string? value) => long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>An RFC 3339 time (Anthropic) or a duration such as <c>1s</c>, <c>6m0s</c>, <c>250ms</c> (OpenAI).</summary>
    private static DateTimeOffset? Reset(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(value)) return null;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && value.Contains('T')) return at;
        var total = TimeSpan.Zero;
        var rest = value.AsSpan();
        while (rest.Length > 0)
        {
            var digits = 0;
            while (digits < rest.Length && (char.IsDigit(rest[digits]) || rest[digits] == '.')) digits++;
            if (digits == 0 || !double.TryParse(rest[..digits], NumberStyles.Float, CultureInfo.InvariantCulture, out var n)) return null;
            rest = rest[digits..];
            var unit = rest.StartsWith("ms") ? "ms" : rest.Length > 0 ? rest[..1].ToString() : "s";
            total += unit switch { "ms" => TimeSpan.FromMilliseconds(n), "h" => TimeSpan.FromHours(n), "m" => TimeSpan.FromMinutes(n), "s" => TimeSpan.FromSeconds(n), _ => TimeSpan.Zero };
            rest = rest[Math.Min(unit.Length, rest.Length)..];
        }
        return now + total;
    }
}
