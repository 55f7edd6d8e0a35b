using Hive.Contracts.Agents;
using Hive.Shared.Socket;

namespace Hive.Features.Containers;

/// <summary>The <c>spawn</c> verb: any agent's, for children under itself.</summary>
internal sealed class HierarchySocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs) =>
        verbs.Map(HierarchyVerbs.Spawn, async (r, args) =>
        {
            var result = await r.Mediator.Send(new SpawnChild.Command(r.Agent, args.Name, args.Purpose, args.Preset, args.Command, args.MaySpawn, args.Budget), r.CancellationToken);
            return result.Agent is { } row
                ? new ChildSpawnReply(HierarchyVerbs.Spawned, Agent: row)
                : new ChildSpawnReply(HierarchyVerbs.Asked, ApprovalId: result.Approval!.Id, Reason: result.Reason);
        });
}
