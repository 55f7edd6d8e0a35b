using Hive.Contracts.Containers;
using MediatR;

namespace Hive.Features.Containers;

/// <summary><c>GET /api/meta</c>: the meta repo's recent commits on <c>main</c> and its pinned inputs.</summary>
public static class ReadMeta
{
    public sealed record Query(int Count = 50) : IRequest<MetaView>;

    internal sealed class Handler(MetaRepo meta, MetaInputs inputs) : IRequestHandler<Query, MetaView>
    {
        public async Task<MetaView> Handle(Query query, CancellationToken cancellationToken) =>
            new(await meta.LogAsync(query.Count), await inputs.ReadInputsAsync());
    }
}

public sealed record MetaView(IReadOnlyList<MetaCommit> Log, IReadOnlyList<MetaInput> Inputs);
