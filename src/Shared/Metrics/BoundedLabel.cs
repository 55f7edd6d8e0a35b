namespace Hive.Shared.Metrics;

/// <summary>
/// A label whose values come from outside (a model or provider name from an agent's stream-json): the first
/// <c>max</c> distinct well-formed values are kept as they are, anything else is <c>other</c>, a missing one
/// <c>none</c>. So a reporter that invents a new name per turn can add at most <c>max</c> series, never one per turn.
/// </summary>
public sealed class BoundedLabel(int max = 32)
{
    public const string Other = "other";
    public const string None = "none";
    public const int MaxLength = 64;

    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public string Of(string? value)
    {
        if (string.IsNullOrEmpty(value)) return None;
        if (!IsWellFormed(value)) return Other;
        lock (_lock)
        {
            if (_seen.Contains(value)) return value;
            if (_seen.Count >= max) return Other;
            _seen.Add(value);
            return value;
        }
    }

    /// <summary>What model names look like (<c>claude-sonnet-4-5</c>, <c>gpt-4.1</c>, <c>org/model:tag</c>): short, no spaces or quotes.</summary>
    private static bool IsWellFormed(string value) =>
        value.Length <= MaxLength && char.IsAsciiLetterOrDigit(value[0])
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '/' or '@');
}
