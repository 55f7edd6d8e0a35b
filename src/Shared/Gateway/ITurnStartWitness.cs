namespace Hive.Shared.Gateway;

/// <summary>
/// Told of each granted turn before <c>begin_turn</c> answers, so before the agent's program runs: what the agent's state
/// is at that moment is what the turn began from (the gateway keeps it, to replay or fork the turn). The gateway
/// implements it (Governance, below it, calls it); a failure of one is its own (logged), never the turn's.
/// </summary>
public interface ITurnStartWitness
{
    Task TurnGrantedAsync(long turnId, string agent, CancellationToken cancellationToken);
}
