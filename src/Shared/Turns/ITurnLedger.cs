namespace Hive.Shared.Turns;

/// <summary>
/// Where a recorded turn is accounted: TurnStats stores the turn an agent reports (<c>record_turn</c>) and calls this in
/// the same change, so the turn's end and its spend commit with it, or neither does. Declared here because Governance,
/// higher up, grants the turns and keeps the budgets; with no implementation a <c>turn_id</c> names no granted turn.
/// </summary>
public interface ITurnLedger
{
    /// <summary>
    /// Ends the granted turn <see cref="TurnReport.TurnId"/> and counts the spend; throws to refuse the whole record. Returns
    /// the turn as accounted: the metered figures when its model calls went through the gateway, else what was reported.
    /// </summary>
    Task<TurnAccount> RecordAsync(TurnReport report, CancellationToken cancellationToken);
}

/// <summary>What a recorded turn spent. Tokens of each kind are as the agent reported them (0 when not).</summary>
public sealed record TurnReport(
    string Agent, long? TurnId, string? Model, string ResultKind,
    long InputTokens, long OutputTokens, long CacheReadTokens, long CacheCreationTokens, double? CostUsd, DateTimeOffset? StartedAt = null)
{
    public long Tokens => InputTokens + OutputTokens + CacheReadTokens + CacheCreationTokens;
}

/// <summary>
/// A recorded turn as accounted: its cost and tokens (the metered sums when <see cref="CostSource"/> is <c>metered</c>),
/// how its cost is known (<c>metered</c>, <c>reported</c>, <c>priced</c>, <c>unknown</c>; null: not accounted), and what the agent
/// reported, kept beside a metered cost for comparison only.
/// </summary>
public sealed record TurnAccount(
    double? CostUsd, string? CostSource, long InputTokens, long OutputTokens, long CacheReadTokens, long CacheCreationTokens, double? ReportedCostUsd)
{
    public static TurnAccount AsReported(TurnReport report) => new(report.CostUsd, report.CostUsd is null ? null : "reported",
        report.InputTokens, report.OutputTokens, report.CacheReadTokens, report.CacheCreationTokens, report.CostUsd);
}

/// <summary>No ledger: spend is not counted, and no turn was ever granted.</summary>
public sealed class NoTurnLedger : ITurnLedger
{
    public Task<TurnAccount> RecordAsync(TurnReport report, CancellationToken cancellationToken) =>
        report.TurnId is { } id ? throw new Errors.NotFoundException($"no turn {id} was granted to {report.Agent}") : Task.FromResult(TurnAccount.AsReported(report));
}
