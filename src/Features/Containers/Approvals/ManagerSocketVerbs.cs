using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Socket;

namespace Hive.Features.Containers;

/// <summary>
/// The manager's verbs, as hyperhive's manager had them: lifecycle actions on other agents without approval (they change
/// no configuration), requests the operator approves, and the list of agents. On any other agent's socket each is
/// <c>forbidden</c> and records nothing; the manager cannot aim one at itself.
/// </summary>
internal sealed class ManagerSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map("start", async r => new { agent = await r.Mediator.Send(new StartAgent.Command(Target(r), AgentNames.Manager), r.CancellationToken) });
        verbs.Map("stop", async r => new { agent = await r.Mediator.Send(new StopAgent.Command(Target(r), AgentNames.Manager), r.CancellationToken) });
        verbs.Map("restart", async r => new { agent = await r.Mediator.Send(new RestartAgent.Command(Target(r), AgentNames.Manager), r.CancellationToken) });
        verbs.Map("rebuild", async r => new { agent = await r.Mediator.Send(new RebuildAgent.Command(Target(r)), r.CancellationToken) });

        verbs.Map("request_spawn", async r =>
        {
            ManagerOnly(r);
            var args = r.Bind<SpawnArgs>();
            if (args.Name == AgentNames.Manager) throw new ForbiddenException("the manager cannot spawn itself");
            var approval = await r.Mediator.Send(new RequestSpawn.Command(r.Agent, args.Name, args.Purpose, args.Command, args.Driver, args.Preset, args.Env,
                args.Secrets, args.Mounts, args.Provider, args.Limits, args.Capabilities, args.Network, args.Egress, args.EgressAsk), r.CancellationToken);
            return new { approval_id = approval.Id };
        });

        verbs.Map("request_destroy", async r =>
        {
            ManagerOnly(r);
            var args = r.Bind<DestroyArgs>();
            var approval = await r.Mediator.Send(new RequestDestroy.Command(r.Agent, args.Name, args.Reason), r.CancellationToken);
            return new { approval_id = approval.Id };
        });

        verbs.Map("propose_config", async r =>
        {
            ManagerOnly(r);
            var args = r.Bind<ProposeArgs>();
            var approval = await r.Mediator.Send(new ProposeConfig.Command(r.Agent, args.Name, args.Config), r.CancellationToken);
            return new { approval_id = approval.Id };
        });

        verbs.Map("list_agents", async r =>
        {
            ManagerOnly(r);
            return new { agents = await r.Mediator.Send(new ListAgents.Query(r.Bind<ListArgs>().Capability), r.CancellationToken) };
        });
    }

    private static void ManagerOnly(SocketRequest request)
    {
        if (request.Agent != AgentNames.Manager) throw new ForbiddenException("only the manager may do this");
    }

    /// <summary>The agent a lifecycle verb is aimed at: never the manager itself.</summary>
    private static string Target(SocketRequest request)
    {
        ManagerOnly(request);
        var name = request.Bind<TargetArgs>().Name;
        if (name == AgentNames.Manager) throw new ForbiddenException("the manager cannot aim this at itself");
        return AgentName.Checked(name);
    }

    private sealed record TargetArgs(string? Name);
    private sealed record SpawnArgs(
        string? Name, string? Purpose, IReadOnlyList<string>? Command, string? Driver, string? Preset, IReadOnlyDictionary<string, string>? Env,
        IReadOnlyDictionary<string, string>? Secrets, IReadOnlyList<string>? Mounts, string? Provider = null,
        Runtime.AgentLimits? Limits = null, IReadOnlyList<string>? Capabilities = null, string? Network = null, IReadOnlyList<string>? Egress = null,
        bool? EgressAsk = null);
    private sealed record ListArgs(string? Capability = null);
    private sealed record DestroyArgs(string? Name, string? Reason);
    private sealed record ProposeArgs(string? Name, AgentConfig? Config);
}
