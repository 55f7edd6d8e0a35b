using Hive.Contracts.Agents;
using Hive.Contracts.Governance;
using Hive.Shared.Audit;
using Hive.Shared.Socket;

namespace Hive.Features.Governance;

/// <summary>The agents' governance verbs: <c>begin_turn</c>, <c>watch_turn</c> and <c>quota_hit</c> (a turn ends with TurnStats' <c>record_turn</c>).</summary>
internal sealed class GovernanceSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map(GovernanceVerbs.BeginTurn, async (request, args) =>
        {
            var result = await request.Mediator.Send(new BeginTurn.Query(request.Agent, args.WaitMs, request.ConnectionClosed), request.CancellationToken);
            return result.TurnId is { } turnId ? new BeginTurnReply(turnId, null, result.Handoff) : new BeginTurnReply(null, result.Held);
        });

        verbs.Map(GovernanceVerbs.WatchTurn, (request, args) =>
            request.Mediator.Send(new WatchTurn.Query(request.Agent, args.TurnId, args.WaitMs), request.CancellationToken));

        // The manager pauses and resumes other agents, at its own authority (monitor): it cannot lift the operator's pause.
        verbs.Map(ManagerVerbs.Pause, (request, args) => ManagerAsync(request, args, (target, by) => new PauseAgent.Command(target, by, args.Reason)));
        verbs.Map(ManagerVerbs.Resume, (request, args) => ManagerAsync(request, args, (target, by) => new ResumeAgent.Command(target, by, args.Reason)));

        verbs.Map(GovernanceVerbs.QuotaHit, async (request, args) =>
        {
            var held = await request.Mediator.Send(new OpenQuotaCircuit.Command(request.Agent, args.Provider, args.Until), request.CancellationToken);
            return new QuotaHitReply(held.Provider, held.Until, held.Scope);
        });
    }

    private static async Task<AgentReply> ManagerAsync(SocketRequest request, TargetAndReasonArgs args, Func<string, Actor, MediatR.IRequest<GovernanceView>> command)
    {
        if (string.IsNullOrWhiteSpace(args.Name)) throw new Hive.Shared.Errors.BadRequestException("name the agent: {\"name\": \"...\"}");
        if (args.Name == request.Agent) throw new Hive.Shared.Errors.ForbiddenException("the manager does not pause or resume itself");
        await request.Mediator.Send(command(args.Name, Actor.Manager), request.CancellationToken);
        return new AgentReply(args.Name);
    }
}
