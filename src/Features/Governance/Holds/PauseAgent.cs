using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Governance;

/// <summary>
/// The operator pauses one agent: as a halt, for it alone (its running turn told to stop, nothing handed out, no restart by
/// policy). The stall rule pauses with <c>KeepTurn</c>: the turn it watches runs on until the operator decides. With
/// <c>Subtree</c>, the agent and every agent under it are paused in the one change, and only their turns are told to stop.
/// </summary>
public static class PauseAgent
{
    public sealed record Command(string Agent, Actor By, string? Reason = null, bool KeepTurn = false, bool Subtree = false)
        : IRequest<GovernanceView>, IChangesState;

    internal sealed class Handler(StateChanges changes, GovernanceState state, Admission admission, GovernedRows rows, IMediator mediator,
        IAgentDirectory directory, IAgentTree tree, IOptions<StopGraceOptions> grace, TimeProvider clock)
        : IRequestHandler<Command, GovernanceView>
    {
        public async Task<GovernanceView> Handle(Command command, CancellationToken cancellationToken)
        {
            if (!directory.IsAgent(command.Agent)) throw new NotFoundException($"no agent named {command.Agent}");
            var change = changes.Current;
            var names = command.Subtree ? [command.Agent, .. AgentLineage.DescendantsOf(tree.Parents(), command.Agent)] : new List<string> { command.Agent };
            var now = clock.GetUtcNow();
            var pausedNow = new List<string>();
            foreach (var name in names.Where(n => !state.IsPaused(n)))
            {
                var paused = new GovernanceState.PausedAgent(name, command.By.Name, now);
                change.Execute("INSERT INTO paused_agents (agent, paused_by, paused_at) VALUES (@Agent, @By, @Since)", paused);
                Interventions.Record(change, now, command.By, InterventionActions.Pause, name, command.Reason, new { paused = false }, new { paused = true });
                state.SetPaused(paused);
                change.OnRolledBack(() => state.ClearPaused(name));
                change.Raise(new AgentPaused(name, command.By.Name, now));
                pausedNow.Add(name);
            }
            if (pausedNow.Count > 0)
            {
                await rows.RaiseAsync(change, a => pausedNow.Contains(a.Name));
                if (!command.KeepTurn)
                    change.AfterPublished(() => admission.Revoke(s => pausedNow.Contains(s.Agent), HoldReasons.Paused, clock.GetUtcNow() + grace.Value.StopGrace));
            }
            return await mediator.Send(new ReadGovernance.Query(), cancellationToken);
        }
    }
}
