using Hive.Shared.Audit;
using Hive.Shared.Socket;

namespace Hive.Features.Governance;

/// <summary>The agents' governance verbs: <c>begin_turn</c>, <c>watch_turn</c> and <c>quota_hit</c> (a turn ends with TurnStats' <c>record_turn</c>).</summary>
internal sealed class GovernanceSocketVerbs : ISocketVerbs
{
    public void Map(SocketVerbRegistry verbs)
    {
        verbs.Map("begin_turn", async request =>
        {
            var args = request.Bind<BeginArgs>();
            var result = await request.Mediator.Send(new BeginTurn.Query(request.Agent, args.WaitMs, request.ConnectionClosed), request.CancellationToken);
            if (result.TurnId is { } turnId) return new { turn_id = turnId };
            return new { held = result.Held };
        });

        verbs.Map("watch_turn", async request =>
        {
            var args = request.Bind<WatchArgs>();
            return await request.Mediator.Send(new WatchTurn.Query(request.Agent, args.TurnId, args.WaitMs), request.CancellationToken);
        });

        // The manager pauses and resumes other agents, at its own authority (monitor): it cannot lift the operator's pause.
        verbs.Map("pause", async request => await ManagerAsync(request, (target, by) => new PauseAgent.Command(target, by, Reason(request))));
        verbs.Map("resume", async request => await ManagerAsync(request, (target, by) => new ResumeAgent.Command(target, by, Reason(request))));

        verbs.Map("quota_hit", async request =>
        {
            var args = request.Bind<QuotaArgs>();
            var held = await request.Mediator.Send(new OpenQuotaCircuit.Command(request.Agent, args.Provider, args.Until), request.CancellationToken);
            return new { provider = held.Provider, until = held.Until, held = held.Scope };
        });
    }

    private static async Task<object?> ManagerAsync(SocketRequest request, Func<string, Actor, MediatR.IRequest<GovernanceView>> command)
    {
        if (request.Agent != Hive.Shared.Agents.AgentNames.Manager) throw new Hive.Shared.Errors.ForbiddenException("only the manager pauses and resumes agents");
        var args = request.Bind<TargetArgs>();
        if (string.IsNullOrWhiteSpace(args.Name)) throw new Hive.Shared.Errors.BadRequestException("name the agent: {\"name\": \"...\"}");
        if (args.Name == request.Agent) throw new Hive.Shared.Errors.ForbiddenException("the manager does not pause or resume itself");
        await request.Mediator.Send(command(args.Name, Actor.Manager), request.CancellationToken);
        return new { agent = args.Name };
    }

    private static string? Reason(SocketRequest request) =>
        request.Body.TryGetProperty("reason", out var reason) && reason.ValueKind == System.Text.Json.JsonValueKind.String ? reason.GetString() : null;

    private sealed record TargetArgs(string? Name, string? Reason);

    private sealed record BeginArgs(int? WaitMs);

    private sealed record WatchArgs(long? TurnId, int? WaitMs);

    private sealed record QuotaArgs(string? Provider, DateTimeOffset? Until);
}
