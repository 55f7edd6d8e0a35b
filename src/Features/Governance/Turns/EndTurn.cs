using Hive.Features.Messages;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Governance;

/// <summary>
/// A granted turn ends, however it ends: recorded by its agent, its connection closed, or stopped by the host (halt,
/// pause, the turn's time limit) once its grace ran out. The row is closed once (a later end is a no-op), the slot goes
/// back to the queue after the commit, and a turn the host stopped gives its messages back at once, so they are handed
/// out again flagged <c>redelivered</c> when the agent may work again.
/// </summary>
internal static class EndTurn
{
    /// <returns>False when the turn had ended already.</returns>
    public sealed record Command(long TurnId, string Reason, double? CostUsd = null, long? Tokens = null) : IRequest<bool>, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, Admission admission, TimeProvider clock) : IRequestHandler<Command, bool>
    {
        public async Task<bool> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var acted = admission.Find(command.TurnId)?.Acted ?? false;
            var agent = change.QuerySingleOrDefault<string>("""
                UPDATE governed_turns SET ended_at = @now, end_reason = @Reason, cost_usd = @CostUsd, tokens = @Tokens, acted = @acted
                WHERE id = @TurnId AND ended_at IS NULL
                RETURNING agent
                """, new { command.TurnId, command.Reason, command.CostUsd, command.Tokens, acted, now = clock.GetUtcNow() });
            if (agent is null)
            {
                // Ended already; if its slot is still held (that end's after-publish effects never ran), let it go now.
                if (admission.Find(command.TurnId) is { } stale) change.AfterPublished(() => admission.Release(stale, command.Reason));
                return false;
            }
            if (TurnEndReasons.GivesMessagesBack(command.Reason))
                await mediator.Send(new ReleaseInFlightMessages.Command(agent), CancellationToken.None);
            change.Raise(new TurnEnded(command.TurnId, agent, command.Reason, command.CostUsd, command.Tokens));
            // Only an empty turn can complete a run of empty turns.
            if (command.Reason == TurnEndReasons.Recorded && !acted && command.Tokens > 0)
                await mediator.Send(new PauseLoopingAgent.Command(agent), CancellationToken.None);
            if (admission.Find(command.TurnId) is { } slot)
            {
                slot.EndCommitted = true;
                change.OnRolledBack(() => slot.EndCommitted = false);
                change.AfterPublished(() => admission.Release(slot, command.Reason));
            }
            return true;
        }
    }

    /// <summary>Ends a turn from outside any request (its connection closed, a deadline passed); a failure is logged.</summary>
    public static async Task QuietlyAsync(IServiceScopeFactory scopes, long turnId, string reason)
    {
        await using var scope = scopes.CreateAsyncScope();
        try
        {
            await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new Command(turnId, reason), CancellationToken.None);
        }
        catch (Exception e)
        {
            scope.ServiceProvider.GetRequiredService<ILogger<Command>>().LogWarning(e, "governance: ending turn {TurnId} ({Reason}) failed", turnId, reason);
        }
    }
}

public static class TurnEndReasons
{
    public const string Recorded = "recorded";
    public const string Disconnected = "disconnected";
    public const string MaxTurnMinutes = "max_turn_minutes";
    public const string EndedByOperator = "ended_by_operator";

    /// <summary>Stopped by the host for a hold, or ended by the operator: its messages go back in line.</summary>
    public static bool GivesMessagesBack(string reason) => reason is HoldReasons.Halted or HoldReasons.Paused or MaxTurnMinutes or EndedByOperator;
}
