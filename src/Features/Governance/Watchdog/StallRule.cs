using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Governance;

/// <summary>
/// Looked at on every tick of <see cref="TurnClock"/>: a turn running past <c>Hive:Governance:StallMinutes</c> is nudged
/// (<see cref="NudgeStalledTurn"/>), and past twice that its agent is paused and the operator asked
/// (<see cref="PauseStalledAgent"/>). Only turns nobody has told to stop; the operator's extra minutes move the clock.
/// </summary>
internal static class StallRule
{
    public static async Task CheckAsync(IMediator mediator, Admission admission, GovernanceOptions options, DateTimeOffset now, ILogger logger,
        CancellationToken ct)
    {
        if (options.StallMinutes <= 0) return;
        var after = TimeSpan.FromMinutes(options.StallMinutes);
        foreach (var slot in admission.Snapshot().Running.Where(s => s.TurnId > 0 && s.Stop is null))
        {
            var running = now - slot.StallFrom;
            try
            {
                if (slot.Stall == Admission.StallStage.None && running >= after)
                    await mediator.Send(new NudgeStalledTurn.Command(slot.TurnId), ct);
                else if (slot.Stall == Admission.StallStage.Nudged && running >= after * 2)
                    await mediator.Send(new PauseStalledAgent.Command(slot.TurnId), ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Tried again on the next tick: nothing of a failed firing was kept.
                logger.LogWarning(e, "governance: the stall rule on turn {TurnId} of {Agent} failed", slot.TurnId, slot.Agent);
            }
        }
    }
}
