using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>Every agent's row, as <c>/api/state</c> shows them: the manager first, then by name.</summary>
public static class ListAgents
{
    public sealed record Query : IRequest<IReadOnlyList<AgentRow>>;

    internal sealed class Handler(IAgentDirectory directory, AgentRows rows) : IRequestHandler<Query, IReadOnlyList<AgentRow>>
    {
        public Task<IReadOnlyList<AgentRow>> Handle(Query query, CancellationToken cancellationToken) =>
            rows.BuildAsync(directory.List(), cancellationToken);
    }
}
