using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// The operator pauses one agent: as a halt, for it alone (its running turn told to stop, nothing handed out, no restart by
/// policy). The stall rule pauses with <c>KeepTurn</c>: the turn it watches runs on until the operator decides.
/// </summary>
public static class PauseAgent
{
    public sealed record Command(string Agent, Actor By, string? Reason = null, bool KeepTurn = false) : IRequest<GovernanceView>, IChangesState;

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, IMediator mediator,
        IAgentDirectory directory, IOptions<StopGraceOptions> grace, TimeProvider clock)
        : IRequestHandler<Command, GovernanceView>
    {
        public async Task<GovernanceView> Handle(Command command, CancellationToken cancellationToken)
        {
            if (!directory.IsAgent(command.Agent)) throw new NotFoundException($"no agent named {command.Agent}");
            var change = changes.Current;
            if (!state.IsPaused(command.Agent))
            {
                var now = clock.GetUtcNow();
                var paused = new GovernanceState.PausedAgent(command.Agent, command.By.Name, now);
                change.Execute("INSERT INTO paused_agents (agent, paused_by, paused_at) VALUES (@Agent, @By, @Since)", paused);
                Interventions.Record(change, now, command.By, InterventionActions.Pause, command.Agent, command.Reason, new { paused = false }, new { paused = true });
                state.SetPaused(paused);
                change.OnRolledBack(() => state.ClearPaused(command.Agent));
                change.Raise(new AgentPaused(command.Agent, command.By.Name, now));
                await rows.RaiseAsync(change, a => a.Name == command.Agent);
                if (!command.KeepTurn) change.AfterPublished(() => admission.Revoke(s => s.Agent == command.Agent, HoldReasons.Paused, clock.GetUtcNow() + grace.Value.StopGrace));
            }
            return await mediator.Send(new ReadGovernance.Query(), cancellationToken);
        }
    }
}
