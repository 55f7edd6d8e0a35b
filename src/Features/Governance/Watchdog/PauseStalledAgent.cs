using System.Globalization;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Gateway;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// A nudged turn has run as long again: its agent is paused by the stall rule (the turn itself runs on: it may be close to
/// done) and the operator gets one question from <c>hive</c>: end the turn (its messages come back, flagged), give it more
/// minutes, or keep the agent paused. The pause, its intervention and the question are one change. When the agent's model
/// calls are failing (the gateway's streak), the question says so: the turn is stuck on its provider, not on its work.
/// </summary>
internal static class PauseStalledAgent
{
    public const string EndTheTurn = "end the turn";
    public const string KeepPaused = "keep paused";

    public static string GiveMore(double minutes) => $"give it {minutes.ToString("0.##", CultureInfo.InvariantCulture)} more minutes";

    public sealed record Command(long TurnId) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, Admission admission, IMediator mediator, IOptions<GovernanceOptions> options,
        IModelCallFailures failures, TimeProvider clock) : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            if (admission.Find(command.TurnId) is not { Stall: Admission.StallStage.Nudged, Stop: null } slot) return Unit.Value;
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var running = WatchdogRules.Show(now - slot.GrantedAt);
            await mediator.Send(new PauseAgent.Command(slot.Agent, Actor.Rule(WatchdogRules.Stall),
                $"turn {slot.TurnId} has run {running}, nudged and not ended", KeepTurn: true), CancellationToken.None);
            await WatchdogQuestions.AskAsync(mediator, change, now, WatchdogRules.Stall, slot.Agent, slot.TurnId,
                $"stall:{slot.TurnId}:{slot.StallFrom.UtcTicks}",
                $"{slot.Agent}'s turn {slot.TurnId} has run {running} and did not end when nudged. {Failing(failures.Of(slot.Agent), now)}" +
                $"{slot.Agent} is paused (the turn runs on until you decide). What now?",
                [EndTheTurn, GiveMore(options.Value.StallMinutes), KeepPaused]);
            slot.Stall = Admission.StallStage.Paused;
            change.OnRolledBack(() => slot.Stall = Admission.StallStage.Nudged);
            return Unit.Value;
        }

        /// <summary>"Its model calls are failing: 6 in a row, connection refused to api.anthropic.com, since 10:42 UTC. ", or nothing.</summary>
        private static string Failing(FailingStreak? streak, DateTimeOffset now)
        {
            if (streak is null) return "";
            var since = streak.Since.UtcDateTime;
            var at = since.Date == now.UtcDateTime.Date
                ? since.ToString("HH:mm", CultureInfo.InvariantCulture)
                : since.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
            return $"Its model calls are failing: {streak.Count} in a row, {streak.LastError}, since {at} UTC. ";
        }
    }
}
