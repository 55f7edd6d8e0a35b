namespace Hive.Features.Egress.Record;

/// <summary>What an egress attempt came to: let through, refused by the policy or the parser, or allowed but not reached.</summary>
public static class EgressDecisions
{
    public const string Allowed = "allowed";
    public const string Refused = "refused";
    public const string Failed = "failed";

    public static readonly IReadOnlyList<string> All = [Allowed, Refused, Failed];
}

/// <summary>
/// One connection an agent asked its proxy for, as it is recorded: the target (host <c>-</c> when the head did not parse),
/// the address connected to or refused, the decision and the status answered, and the bytes each way.
/// </summary>
internal sealed record EgressAttempt(string Agent, string Host, int Port, string Method, string? Address, string Decision, int Status, string? Reason)
{
    public long BytesOut { get; init; }
    public long BytesIn { get; init; }
    public double DurationMs { get; init; }
    public DateTimeOffset StartedAt { get; init; }

    public string Target => Host == "-" ? "-" : Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
