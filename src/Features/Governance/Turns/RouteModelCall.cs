using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// The gateway's question for a call of an agent with a provider chain: which provider it goes to. Its running turn's, or
/// without one the first of the chain nothing holds; and when that one is held now (its circuit opened during the turn),
/// the next of the chain nothing holds, with why. Whether the turn may move there before it ends is the gateway's to say
/// (only while nothing has happened in it). Answered from memory.
/// </summary>
public static class RouteModelCall
{
    public sealed record Query(string Agent, IReadOnlyList<string> Chain) : IRequest<Route>;

    /// <param name="Next">The provider the call would move to, when <paramref name="Provider"/> is held now; null when it is not (or none is free).</param>
    /// <param name="Why">Why <paramref name="Provider"/> is held, when it is.</param>
    public sealed record Route(string Provider, long? TurnId, string? Next, string? Why);

    internal sealed class Handler(Admission admission, ProviderRoutes routes, TimeProvider clock) : IRequestHandler<Query, Route>
    {
        public Task<Route> Handle(Query query, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            var turn = admission.RunningOf(query.Agent);
            var provider = turn?.Provider ?? routes.Choose(query.Agent, query.Chain, now).Provider;
            if (routes.HeldOn(query.Agent, provider, now) is not { } why) return Task.FromResult(new Route(provider, turn?.TurnId, null, null));
            var next = query.Chain.FirstOrDefault(p => p != provider && routes.HeldOn(query.Agent, p, now) is null);
            return Task.FromResult(new Route(provider, turn?.TurnId, next, next is null ? null : why));
        }
    }
}
