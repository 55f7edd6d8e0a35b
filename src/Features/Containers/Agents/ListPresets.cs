using Hive.Features.Containers.Presets;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The agent presets this hive has (<c>GET /api/presets</c>), each with where its program is found here or why it is not.</summary>
public static class ListPresets
{
    public sealed record Query : IRequest<IReadOnlyList<PresetView>>;

    internal sealed class Handler(AgentPresets presets) : IRequestHandler<Query, IReadOnlyList<PresetView>>
    {
        public Task<IReadOnlyList<PresetView>> Handle(Query query, CancellationToken cancellationToken) => presets.ListAsync();
    }
}
