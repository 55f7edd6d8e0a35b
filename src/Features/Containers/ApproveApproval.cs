using System.Text.Json;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The operator approves, and the request is applied in the same unit of work as the decision: a spawn's agent is written
/// into the registry (desired running, consuming a tombstone of its name) with it, so no crash can leave an approved
/// spawn with nothing behind it; its process starts right after the commit (or, if the host dies first, at the next
/// start, like every agent desired running). A destroy is marked approved and done right after; one whose host died
/// first is finished at the next start.
/// </summary>
public static class ApproveApproval
{
    public sealed record Command(long Id, string? Reason) : IRequest<ApprovalView>, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator, Supervisor supervisor, AgentRegistry registry, TimeProvider clock)
        : IRequestHandler<Command, ApprovalView>
    {
        public async Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = await Approvals.ResolveAsync(change, mediator, command.Id, ApprovalStatuses.Approved, AgentNames.Operator, command.Reason, clock);
            switch (row.Kind)
            {
                case ApprovalKinds.Spawn:
                    var spawn = JsonSerializer.Deserialize<SpawnPayload>(row.Payload, Hive.Shared.Json.HiveJson.Options)!;
                    if (registry.Find(row.Agent) is not null)
                        throw new ConflictException($"an agent named {row.Agent} exists now: deny this request");
                    await supervisor.RegisterAsync(new AgentRecord
                    {
                        Name = row.Agent,
                        Driver = spawn.Driver,
                        Command = JsonSerializer.Serialize(spawn.Command),
                        Purpose = spawn.Purpose,
                        Desired = DesiredStates.Running,
                        State = States.Stopped,
                        CreatedAt = clock.GetUtcNow(),
                    }, row.Requester, mediator, cancellationToken);
                    change.Execute("UPDATE approvals SET applied_at = @now WHERE id = @Id", new { row.Id, now = clock.GetUtcNow() });
                    change.AfterPublished(() => supervisor.StartInBackground(row.Agent, row.Requester));
                    break;
                case ApprovalKinds.Destroy:
                    if (registry.Find(row.Agent) is null) throw new ConflictException($"there is no agent named {row.Agent} any more: deny this request");
                    change.AfterPublished(() => supervisor.DestroyInBackground(row.Agent, row.Requester, row.Id));
                    break;
                case ApprovalKinds.ConfigCommit:
                    if (registry.Find(row.Agent) is null) throw new ConflictException($"there is no agent named {row.Agent} any more: deny this request");
                    change.AfterPublished(() => supervisor.RebuildInBackground(row.Agent, row.Requester, row.Id));
                    break;
                default:
                    throw new ConflictException($"approvals of kind {row.Kind} cannot be applied by this host");
            }
            return row.View();
        }
    }

    private sealed record SpawnPayload(string Name, string? Purpose, IReadOnlyList<string> Command, string Driver);
}
