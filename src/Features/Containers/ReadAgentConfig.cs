using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>An agent's configuration as its meta file holds it (<c>GET /api/agents/{name}/config</c>).</summary>
public static class ReadAgentConfig
{
    public sealed record Query(string? Name) : IRequest<View>;

    public sealed record View(string Name, AgentConfig? Config);

    internal sealed class Handler(AgentRegistry registry) : IRequestHandler<Query, View>
    {
        public Task<View> Handle(Query query, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(query.Name);
            var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            return Task.FromResult(new View(name, record.IsExternal ? null : record.ToConfig()));
        }
    }
}
