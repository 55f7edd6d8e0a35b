namespace Hive.Shared.Gateway;

/// <summary>
/// Each agent's streak of failed model calls as the gateway counts them (connection failures, timeouts, 5xx: the provider
/// could not be had), for the slices below the Gateway that speak of an agent: the watchdog names it when it asks about a
/// stalled turn. With no implementation, no agent has a streak.
/// </summary>
public interface IModelCallFailures
{
    /// <summary><paramref name="agent"/>'s streak while it lasts (its last call failed), else null.</summary>
    FailingStreak? Of(string agent);
}

/// <summary>
/// <paramref name="Count"/> calls in a row to <paramref name="Provider"/> failed, the first at <paramref name="Since"/>, the
/// last at <paramref name="LastAt"/> with <paramref name="LastError"/> ("connection refused to api.anthropic.com").
/// </summary>
public sealed record FailingStreak(string Provider, int Count, string LastError, DateTimeOffset Since, DateTimeOffset LastAt);

/// <summary>No gateway: no streaks.</summary>
public sealed class NoModelCallFailures : IModelCallFailures
{
    public FailingStreak? Of(string agent) => null;
}
