using Hive.Shared.Audit;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// Looked at as each recorded turn ends: when the agent's last <c>Hive:Governance:LoopTurns</c> turns (since the rule
/// last asked about it) each spent tokens and did nothing else (sent no message, acknowledged none that came in during
/// the turn, changed no reminder or question), it is paused by the loop rule and the operator asked: resume, or keep it
/// paused. A turn that did something breaks the run.
/// </summary>
internal static class PauseLoopingAgent
{
    public const string Resume = "resume";

    public sealed record Command(string Agent) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, GovernanceState state, IMediator mediator, IOptions<GovernanceOptions> options, TimeProvider clock)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var count = options.Value.LoopTurns;
            if (count <= 0 || state.IsPaused(command.Agent)) return Unit.Value;
            var change = changes.Current;
            var since = change.QuerySingle<long>(
                "SELECT coalesce(max(turn_id), 0) FROM watchdog_questions WHERE agent = @Agent AND rule = 'loop'", command);
            var last = change.Query<EndedTurn>("""
                SELECT id, end_reason, tokens, acted FROM governed_turns
                WHERE agent = @Agent AND ended_at IS NOT NULL AND id > @since ORDER BY id DESC LIMIT @count
                """, new { command.Agent, since, count });
            if (last.Count < count || !last.All(t => t.EndReason == TurnEndReasons.Recorded && t.Tokens > 0 && t.Acted == 0)) return Unit.Value;

            var tokens = last.Sum(t => t.Tokens ?? 0);
            await mediator.Send(new PauseAgent.Command(command.Agent, Actor.Rule(WatchdogRules.Loop),
                $"its last {count} turns spent {tokens} tokens and did nothing else"), CancellationToken.None);
            await WatchdogQuestions.AskAsync(mediator, change, clock.GetUtcNow(), WatchdogRules.Loop, command.Agent, last[0].Id,
                $"loop:{command.Agent}:{last[0].Id}",
                $"{command.Agent}'s last {count} turns spent {tokens} tokens and did nothing else: no message sent, none new acknowledged, no " +
                $"reminder or question changed. {command.Agent} is paused. What now?",
                [Resume, PauseStalledAgent.KeepPaused]);
            return Unit.Value;
        }
    }

    private sealed record EndedTurn(long Id, string? EndReason, long? Tokens, long Acted);
}
