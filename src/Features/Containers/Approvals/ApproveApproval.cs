using System.Text.Json;
using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Shared.Agents;
using Hive.Shared.Approvals;
using Hive.Shared.Audit;
using Hive.Shared.Budgets;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The operator approves, and the request is applied in the same unit of work as the decision: a spawn's agent is written
/// into the registry (desired running, consuming a tombstone of its name) with it, so no crash can leave an approved
/// spawn with nothing behind it; its process starts right after the commit (or, if the host dies first, at the next
/// start, like every agent desired running). A destroy is marked approved and done right after; one whose host died
/// first is finished at the next start. A configuration change is deployed right after (and finished at the next start
/// if the host died first); one whose agent file changed since it was proposed is stale: approving it would silently
/// undo that change, so it is refused with a 409 and denied as stale in a change of its own (its requester told), rather
/// than left pending where it could never be approved. A template's import makes all of its agents with the decision.
/// </summary>
public static class ApproveApproval
{
    public sealed record Command(long Id, string? Reason) : IRequest<ApprovalView>;

    /// <summary>The decision, one unit of work; a stale proposal's denial is committed here, and the 409 comes after it.</summary>
    /// <summary><paramref name="DecidedBy"/>: the operator, or the parent a spawn was asked of.</summary>
    internal sealed record Decide(long Id, string? Reason, string DecidedBy = AgentNames.Operator) : IRequest<(ApprovalView View, string? Stale)>, IChangesState;

    public const string StaleReason = "stale: the agent's configuration changed since it was proposed; propose again";

    internal sealed class Handler(IMediator mediator) : IRequestHandler<Command, ApprovalView>
    {
        public async Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken)
        {
            var (view, stale) = await mediator.Send(new Decide(command.Id, command.Reason), cancellationToken);
            return stale is null ? view : throw new ConflictException(stale);
        }
    }

    internal sealed class DecideHandler(
        StateChanges changes, IMediator mediator, BackgroundRequests background, AgentRegistry registry, MetaRepo meta, MetaProposals proposals, TimeProvider clock,
        IEnumerable<IApprovalApplier> appliers)
        : IRequestHandler<Decide, (ApprovalView View, string? Stale)>
    {
        public async Task<(ApprovalView View, string? Stale)> Handle(Decide command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            if (await StaleAsync(change, command.Id) is { } stale)
            {
                // Joins this change: denied (by hive, the requester told, refs/denied once committed); the caller then says 409.
                var denied = await mediator.Send(new DenyApproval.Command(command.Id, StaleReason, AgentNames.Hive), cancellationToken);
                return (denied, stale);
            }
            var row = await Approvals.ResolveAsync(change, mediator, command.Id, ApprovalStatuses.Approved, command.DecidedBy, command.Reason, clock);
            var decider = command.DecidedBy == AgentNames.Operator ? Actor.Operator : Actor.Agent(command.DecidedBy);
            switch (row.Kind)
            {
                case ApprovalKinds.Spawn:
                    var spawn = JsonSerializer.Deserialize<SpawnPayload>(row.Payload, Hive.Contracts.Json.HiveJson.Options)!;
                    if (registry.Find(row.Agent) is not null)
                        throw new ConflictException($"an agent named {row.Agent} exists now: deny this request");
                    var parent = spawn.Parent is { } p && registry.Find(p) is not null ? p : null;
                    var config = new AgentConfig(spawn.Command, spawn.Driver, spawn.Env, spawn.Purpose, null, spawn.Mounts, null, null, spawn.Secrets,
                        spawn.Provider, spawn.Limits, spawn.Capabilities, spawn.Network, spawn.Egress, spawn.EgressAsk, spawn.Permissions, parent, spawn.MaySpawn);
                    await mediator.Send(new RegisterAgent.Command(AgentRecord.FromConfig(row.Agent, config, clock.GetUtcNow()), row.Requester), cancellationToken);
                    // In this change, before it starts: the child never runs without the cap the operator approved.
                    if (spawn.Budget is { } share) await mediator.Send(new GrantBudgetShare(row.Requester, row.Agent, share, decider), cancellationToken);
                    change.Execute("UPDATE approvals SET applied_at = @now WHERE id = @Id", new { row.Id, now = clock.GetUtcNow() });
                    change.AfterPublished(() => background.Send("the approved start", m => m.Send(new StartAgent.AfterSpawn(row.Agent, row.Requester))));
                    break;
                case ApprovalKinds.Destroy:
                    if (registry.Find(row.Agent) is null) throw new ConflictException($"there is no agent named {row.Agent} any more: deny this request");
                    change.AfterPublished(() => background.Send("the approved destroy", m => m.Send(new DestroyAgent.Approved(row.Agent, row.Requester, row.Id))));
                    break;
                case ApprovalKinds.ConfigCommit:
                    if (registry.Find(row.Agent) is null) throw new ConflictException($"there is no agent named {row.Agent} any more: deny this request");
                    change.AfterPublished(() => background.Send("the approved rebuild", m => m.Send(new DeployProposal.Command(row.Agent, row.Requester, row.Id, row.BaseCommit)),
                        DeployProposal.Key(row.Id)));
                    break;
                case ApprovalKinds.TemplateImport:
                    await mediator.Send(new Templates.ApplyTemplateImport.Command(row.Id, row.Payload), cancellationToken);
                    break;
                default:
                    var applier = appliers.FirstOrDefault(a => a.Kind == row.Kind)
                        ?? throw new ConflictException($"approvals of kind {row.Kind} cannot be applied by this host");
                    change.Execute("UPDATE approvals SET applied_at = @now WHERE id = @Id", new { row.Id, now = clock.GetUtcNow() });
                    var approved = row.View();
                    change.AfterPublished(() => background.Send($"the approved {row.Kind}", _ => applier.ApplyAsync(approved, CancellationToken.None)));
                    break;
            }
            return (row.View(), null);
        }

        /// <summary>
        /// For a pending <c>config_commit</c>: the 409's text when its agent's file on <c>main</c> is no longer its base. One
        /// approved for the same agent and still deploying is a plain 409 (this one stays pending: if that deploy fails,
        /// <c>main</c> is back on this one's base).
        /// </summary>
        private async Task<string?> StaleAsync(StateChange change, long id)
        {
            var row = change.QuerySingleOrDefault<ApprovalRow>($"SELECT {ApprovalRow.Columns} FROM approvals WHERE id = @id", new { id });
            if (row is not { Kind: ApprovalKinds.ConfigCommit, Status: ApprovalStatuses.Pending }) return null; // ResolveAsync says 404/409
            if (change.QuerySingleOrDefault<long?>("""
                    SELECT id FROM approvals
                    WHERE kind = 'config_commit' AND agent = @Agent AND status = 'approved' AND applied_at IS NULL AND id <> @Id
                    ORDER BY id LIMIT 1
                    """, row) is { } deploying)
                throw new ConflictException($"a configuration of {row.Agent} approved earlier (approval {deploying}) is still being deployed: try again when it is done");
            if (meta.Unavailable is { } why) throw new ConflictException(why);
            // Applied (main already holds exactly the proposed file) undoes nothing: approving it just rebuilds the agent.
            return await proposals.StandingOfAsync(row.Id, row.Agent, row.BaseCommit) != MetaProposals.Standing.Stale
                ? null
                : $"stale: propose again. The configuration of {row.Agent} changed since approval {row.Id} was proposed, so approving it would undo " +
                  "that change; it is now denied as stale";
        }
    }

    private sealed record SpawnPayload(
        string Name, string? Purpose, IReadOnlyList<string> Command, string Driver, IReadOnlyDictionary<string, string>? Env = null,
        IReadOnlyDictionary<string, string>? Secrets = null, IReadOnlyList<string>? Mounts = null, string? Provider = null,
        AgentLimits? Limits = null, IReadOnlyList<string>? Capabilities = null, string? Network = null, IReadOnlyList<string>? Egress = null,
        bool? EgressAsk = null, AgentPermissions? Permissions = null, string? Parent = null, AgentSpawnLimits? MaySpawn = null, double? Budget = null);
}
