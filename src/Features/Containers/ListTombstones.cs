using MediatR;

namespace Hive.Features.Containers;

/// <summary>The tombstones, newest first, each with its size on disk.</summary>
public static class ListTombstones
{
    public sealed record Query : IRequest<IReadOnlyList<TombstoneView>>;

    internal sealed class Handler(AgentRegistry registry) : IRequestHandler<Query, IReadOnlyList<TombstoneView>>
    {
        public Task<IReadOnlyList<TombstoneView>> Handle(Query query, CancellationToken cancellationToken) =>
            Task.FromResult(registry.Tombstones());
    }
}
