using Hive.Contracts.Agents;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Socket;

namespace Hive.Features.Containers;

/// <summary>
/// The manager's verbs, as hyperhive's manager had them: lifecycle actions on other agents without approval (they change
/// no configuration), requests the operator approves, and the list of agents. On any other agent's socket each is
/// <c>forbidden</c> (their declarations say so) and records nothing; the manager cannot aim one at itself.
/// </summary>
internal sealed class ManagerSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map(ManagerVerbs.Start, async (r, a) => new AgentRowReply(await r.Mediator.Send(new StartAgent.Command(Target(a), AgentNames.Manager), r.CancellationToken)));
        verbs.Map(ManagerVerbs.Stop, async (r, a) => new AgentRowReply(await r.Mediator.Send(new StopAgent.Command(Target(a), AgentNames.Manager), r.CancellationToken)));
        verbs.Map(ManagerVerbs.Restart, async (r, a) => new AgentRowReply(await r.Mediator.Send(new RestartAgent.Command(Target(a), AgentNames.Manager), r.CancellationToken)));
        verbs.Map(ManagerVerbs.Rebuild, async (r, a) => new AgentRowReply(await r.Mediator.Send(new RebuildAgent.Command(Target(a)), r.CancellationToken)));

        verbs.Map(ManagerVerbs.RequestSpawn, async (r, args) =>
        {
            if (args.Name == AgentNames.Manager) throw new ForbiddenException("the manager cannot spawn itself");
            var approval = await r.Mediator.Send(new RequestSpawn.Command(r.Agent, args.Name, args.Purpose, args.Command, args.Driver, args.Preset, args.Env,
                args.Secrets, args.Mounts, args.Provider, args.Limits, args.Capabilities, args.Network, args.Egress, args.EgressAsk), r.CancellationToken);
            return new ApprovalReply(approval.Id);
        });

        verbs.Map(ManagerVerbs.RequestDestroy, async (r, args) =>
        {
            var approval = await r.Mediator.Send(new RequestDestroy.Command(r.Agent, args.Name, args.Reason), r.CancellationToken);
            return new ApprovalReply(approval.Id);
        });

        verbs.Map(ManagerVerbs.ProposeConfig, async (r, args) =>
        {
            var approval = await r.Mediator.Send(new ProposeConfig.Command(r.Agent, args.Name, args.Config), r.CancellationToken);
            return new ApprovalReply(approval.Id);
        });

        verbs.Map(ManagerVerbs.ListAgents, async (r, args) =>
            new AgentsReply(await r.Mediator.Send(new ListAgents.Query(args.Capability), r.CancellationToken)));
    }

    /// <summary>The agent a lifecycle verb is aimed at: never the manager itself.</summary>
    private static string Target(TargetArgs args)
    {
        if (args.Name == AgentNames.Manager) throw new ForbiddenException("the manager cannot aim this at itself");
        return AgentName.Checked(args.Name);
    }
}
