using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Gateway;

/// <summary>
/// What each provider last said of its limits on a successful call (requests and tokens remaining, and when they reset:
/// Anthropic's <c>anthropic-ratelimit-*</c>, OpenAI's <c>x-ratelimit-*</c>), kept in memory for the governance section,
/// and how to read the reset a 429 or 529 names (<c>retry-after</c> first, then the rate-limit resets).
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

    /// <summary>The latest reset a limit response names; null when it names none.</summary>
    public DateTimeOffset? ResetOf(IHeaderDictionary headers, DateTimeOffset now)
    {
        DateTimeOffset? latest = null;
        void Consider(DateTimeOffset? at) { if (at is { } t && t > now && (latest is null || t > latest)) latest = t; }
        if (headers.RetryAfter is { Count: > 0 } retry)
        {
            var value = retry[0]!;
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
                Consider(now.AddSeconds(Math.Min(seconds, 7 * 86_400)));
            else if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)) Consider(date);
        }
        foreach (var name in new[] { "anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-input-tokens-reset",
                     "anthropic-ratelimit-output-tokens-reset", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens" })
            if (headers.TryGetValue(name, out var v) && v.Count > 0) Consider(Reset(v[0], now));
        return latest;
    }

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
