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

        verbs.Map("quota_hit", async request =>
        {
            var args = request.Bind<QuotaArgs>();
            var circuit = await request.Mediator.Send(new OpenQuotaCircuit.Command(request.Agent, args.Provider, args.Until), request.CancellationToken);
            return new { provider = circuit.Provider, until = circuit.Until };
        });
    }

    private sealed record BeginArgs(int? WaitMs);

    private sealed record WatchArgs(long? TurnId, int? WaitMs);

    private sealed record QuotaArgs(string? Provider, DateTimeOffset? Until);
}
