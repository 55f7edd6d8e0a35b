using Hive.Contracts.Agents;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>An agent's configuration as its meta file holds it (<c>GET /api/agents/{name}/config</c>); null for an external agent.</summary>
public static class ReadAgentConfig
{
    public sealed record Query(string? Name) : IRequest<View>;

    public sealed record View(string Name, AgentConfig? Config);

    internal sealed class Handler(AgentRegistry registry, MetaRepo meta) : IRequestHandler<Query, View>
    {
        public async Task<View> Handle(Query query, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(query.Name);
            var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            if (record.IsExternal) return new View(name, null);
            // The file a change is diffed against (an approved change is on it before its rebuild is done); the registry's
            // copy where the meta repo cannot be read.
            try
            {
                return new View(name, await meta.ReadAgentAsync(name) ?? record.ToConfig());
            }
            catch (MetaFileException)
            {
                return new View(name, record.ToConfig());
            }
        }
    }
}
