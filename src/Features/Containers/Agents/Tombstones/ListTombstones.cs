using Hive.Contracts.Containers;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The agents destroyed and not created again (their tombstones), newest first: for a slice that must follow them.</summary>
public static class ListTombstones
{
    public sealed record Query : IRequest<IReadOnlyList<TombstoneView>>;

    internal sealed class Handler(AgentRegistry registry) : IRequestHandler<Query, IReadOnlyList<TombstoneView>>
    {
        public Task<IReadOnlyList<TombstoneView>> Handle(Query query, CancellationToken cancellationToken) =>
            Task.FromResult(registry.Tombstones());
    }
}
