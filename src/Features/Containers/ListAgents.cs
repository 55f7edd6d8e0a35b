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

/// <summary>One agent's row (where <c>POST /api/agents</c>'s <c>Location</c> points).</summary>
public static class ReadAgent
{
    public sealed record Query(string Name) : IRequest<AgentRow>;

    internal sealed class Handler(IAgentDirectory directory, AgentRows rows) : IRequestHandler<Query, AgentRow>
    {
        public async Task<AgentRow> Handle(Query query, CancellationToken cancellationToken)
        {
            var agent = directory.List().FirstOrDefault(a => a.Name == query.Name)
                ?? throw new Hive.Shared.Errors.NotFoundException("no agent of that name");
            return (await rows.BuildAsync([agent], cancellationToken))[0];
        }
    }
}
