using System.Text.Json;
using Hive.Contracts.Governance;
using Hive.Contracts.Json;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// <c>POST /api/interventions/{id}/revert</c>: undoes an intervention by taking the opposite action (a pause by a resume,
/// a halt by a resume of the hive, a budget change by its caps before, a circuit opened by its close and one cleared by
/// its re-opening while its reset is still ahead), recorded as an intervention of its own, in one change that also marks
/// the original reverted. A lower authority never undoes a higher one's; what cannot be undone says why.
/// </summary>
public static class RevertIntervention
{
    public sealed record Command(long Id, Actor By) : IRequest<InterventionView>, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, GovernanceState state, TimeProvider clock) : IRequestHandler<Command, InterventionView>
    {
        public async Task<InterventionView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var original = change.QuerySingleOrDefault<InterventionRow>($"SELECT {InterventionRow.Columns} FROM interventions WHERE id = @Id", command)
                ?? throw new NotFoundException($"no intervention {command.Id}");
            if (original.RevertedBy is { } by) throw new ConflictException($"intervention {command.Id} was reverted already (by {by})");
            if (original.Authority > command.By.Authority)
                throw new ForbiddenException($"intervention {command.Id} was {original.Actor}'s ({Authority.Name((int)original.Authority)}); " +
                                             $"{command.By.Name} ({Authority.Name(command.By.Authority)}) cannot undo it");
            var reason = $"revert of intervention {command.Id}";
            var newest = change.QuerySingle<long>("SELECT max(id) FROM interventions");
            var target = original.Target;
            switch (original.Action)
            {
                case InterventionActions.Pause:
                    await mediator.Send(new ResumeAgent.Command(target!, command.By, reason), cancellationToken);
                    break;
                case InterventionActions.Resume:
                    await mediator.Send(new PauseAgent.Command(target!, command.By, reason), cancellationToken);
                    break;
                case InterventionActions.Halt:
                    await mediator.Send(new ResumeHive.Command(command.By, reason), cancellationToken);
                    break;
                case InterventionActions.ResumeHive:
                    await mediator.Send(new HaltHive.Command(command.By, reason), cancellationToken);
                    break;
                case InterventionActions.BudgetSet:
                    var before = original.Before?.Value.Deserialize<Caps>(HiveJson.Options) ?? Caps.None;
                    await mediator.Send(new SetBudget.Command(target!, before.DailyUsd, before.MonthlyUsd, before.DailyTokens, before.MonthlyTokens, command.By),
                        cancellationToken);
                    break;
                case InterventionActions.QuotaCircuitOpened when original.Before is null:
                    if (state.Circuits.Any(c => c.Provider == target))
                        await mediator.Send(new ClearQuotaCircuit.Command(target!, command.By), cancellationToken);
                    break;
                default:
                    throw new ConflictException(original.Action switch
                    {
                        InterventionActions.QuotaCircuitCleared => "a cleared circuit is not re-opened by a revert: the provider's next limit opens it again",
                        InterventionActions.BudgetAnswer => "an applied budget answer is undone by setting the budget (PUT /api/governance/budgets/…)",
                        InterventionActions.QuotaCircuitOpened => "this circuit extended an earlier one: clear it instead (DELETE /api/governance/circuits/…)",
                        InterventionActions.Nudge => "a nudge was a message: it cannot be taken back",
                        InterventionActions.EndTurn => "an ended turn cannot be run again: its messages were handed back to the agent",
                        InterventionActions.Restart => "a restart is undone by stopping the agent",
                        InterventionActions.Stop => "a stop killed the agent's processes: start it again instead (POST /api/agents/{name}/start)",
                        InterventionActions.Destroy => "a destroyed agent is gone: its state dir is kept as a tombstone",
                        InterventionActions.AnswerForAgent => "an answer was delivered to the asker: it cannot be taken back",
                        InterventionActions.LimitChange => "a limit is changed back through the agent's configuration (PUT /api/agents/{name}/config)",
                        _ when original.Action.StartsWith(InterventionActions.Slash(""), StringComparison.Ordinal) => "a slash command applies to the agent's next turn: send another one (POST /api/agents/{name}/slash)",
                        _ => $"a {original.Action} cannot be undone",
                    });
            }
            // The opposite action writes its own row; none means there was nothing left to undo (lifted meanwhile).
            var revert = change.QuerySingle<long>("SELECT max(id) FROM interventions");
            if (revert == newest)
                throw new ConflictException($"nothing to undo: what intervention {command.Id} did ({original.Action}) no longer holds");
            var marked = change.QuerySingle<InterventionRow>($"""
                UPDATE interventions SET reverted_by = @revert, reverted_at = @now WHERE id = @Id RETURNING {InterventionRow.Columns}
                """, new { command.Id, revert, now = clock.GetUtcNow() });
            change.Raise(new InterventionRecorded(marked.View()));
            return marked.View();
        }
    }
}
