namespace Hive.Shared.Turns;

/// <summary>
/// Where a recorded turn is accounted: TurnStats stores the turn an agent reports (<c>record_turn</c>) and calls this in
/// the same change, so the turn's end and its spend commit with it, or neither does. Declared here because Governance,
/// higher up, grants the turns and keeps the budgets; with no implementation a <c>turn_id</c> names no granted turn.
/// </summary>
public interface ITurnLedger
{
    /// <summary>Ends the granted turn <see cref="TurnReport.TurnId"/> (when given) and counts the spend; throws to refuse the whole record.</summary>
    Task RecordAsync(TurnReport report, CancellationToken cancellationToken);
}

/// <summary>What a recorded turn spent. Tokens of each kind are as the agent reported them (0 when not).</summary>
public sealed record TurnReport(
    string Agent, long? TurnId, string? Model, string ResultKind,
    long InputTokens, long OutputTokens, long CacheReadTokens, long CacheCreationTokens, double? CostUsd)
{
    public long Tokens => InputTokens + OutputTokens + CacheReadTokens + CacheCreationTokens;
}

/// <summary>No ledger: spend is not counted, and no turn was ever granted.</summary>
public sealed class NoTurnLedger : ITurnLedger
{
    public Task RecordAsync(TurnReport report, CancellationToken cancellationToken) =>
        report.TurnId is { } id ? throw new Errors.NotFoundException($"no turn {id} was granted to {report.Agent}") : Task.CompletedTask;
}
