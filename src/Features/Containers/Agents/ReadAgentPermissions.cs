using Hive.Contracts.Agents;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// An agent's permission policy as its configuration says now (its registry row): for the Permissions slice, which answers
/// each request by it, so a changed policy takes effect at the next request. Null when none is set.
/// </summary>
public static class ReadAgentPermissions
{
    public sealed record Query(string Agent) : IRequest<AgentPermissions?>;

    internal sealed class Handler(AgentRegistry registry) : IRequestHandler<Query, AgentPermissions?>
    {
        public Task<AgentPermissions?> Handle(Query query, CancellationToken cancellationToken)
        {
            var record = registry.Find(query.Agent) ?? throw new NotFoundException($"no agent named {query.Agent}");
            return Task.FromResult(record.Permissions?.Value);
        }
    }
}
