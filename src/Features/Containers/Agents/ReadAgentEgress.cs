using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// An agent's network as its configuration says now (its registry row): for the Egress slice, which checks
/// every connection against it, so a changed list takes effect at the next connection.
/// </summary>
public static class ReadAgentEgress
{
    public sealed record Query(string Agent) : IRequest<View>;

    /// <param name="Network"><see cref="Hive.Shared.Egress.NetworkModes"/>: <c>open</c> when its configuration names none.</param>
    /// <param name="Egress">Its rules as written (<see cref="Hive.Shared.Egress.EgressRule"/>); empty when none.</param>
    public sealed record View(string Network, IReadOnlyList<string> Egress, bool Ask);

    internal sealed class Handler(AgentRegistry registry) : IRequestHandler<Query, View>
    {
        public Task<View> Handle(Query query, CancellationToken cancellationToken)
        {
            var record = registry.Find(query.Agent) ?? throw new NotFoundException($"no agent named {query.Agent}");
            return Task.FromResult(new View(record.Network ?? Hive.Shared.Egress.NetworkModes.Open, (IReadOnlyList<string>?)record.Egress ?? [], record.EgressAsk));
        }
    }
}
