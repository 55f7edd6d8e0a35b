using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Containers;

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
