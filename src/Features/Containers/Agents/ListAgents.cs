using FluentValidation;
using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// Every agent's row, as <c>/api/state</c> shows them: the manager first, then by name. With a <c>capability</c>, only the
/// agents having it (<c>GET /api/agents?capability=review</c>; the work layer finds whom to offer a phase to this way).
/// </summary>
public static class ListAgents
{
    public sealed record Query(string? Capability = null) : IRequest<IReadOnlyList<AgentRow>>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() =>
            RuleFor(q => q.Capability).Must(c => c is null || Capabilities.IsWellFormed(c))
                .WithMessage($"capability must match {Capabilities.Pattern}");
    }

    internal sealed class Handler(IAgentDirectory directory, AgentRows rows, AgentRegistry registry) : IRequestHandler<Query, IReadOnlyList<AgentRow>>
    {
        public Task<IReadOnlyList<AgentRow>> Handle(Query query, CancellationToken cancellationToken)
        {
            var agents = directory.List();
            if (query.Capability is { } capability)
            {
                var having = registry.WithCapability(capability);
                agents = agents.Where(a => having.Contains(a.Name)).ToList();
            }
            return rows.BuildAsync(agents, cancellationToken);
        }
    }
}
