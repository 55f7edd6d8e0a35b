using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The model provider an agent counts against (<see cref="Providers.Default"/> when it names none, as external agents do);
/// 404 for an unknown agent. Asked on every turn request by the features that meter turns, so it reads the registry row
/// and nothing else.
/// </summary>
public static class ReadAgentProvider
{
    public sealed record Query(string Name) : IRequest<string>;

    internal sealed class Handler(AgentRegistry registry) : IRequestHandler<Query, string>
    {
        public Task<string> Handle(Query query, CancellationToken cancellationToken)
        {
            var record = registry.Find(query.Name) ?? throw new NotFoundException($"no agent named {query.Name}");
            return Task.FromResult(record.Provider ?? Providers.Default);
        }
    }
}

/// <summary>
/// The providers an agent's turns may run on, in order (its chain, or its one provider), and the model each later one runs
/// (empty: no chain); 404 for an unknown agent. Read from the registry row only, as <see cref="ReadAgentProvider"/>.
/// </summary>
public static class ReadAgentChain
{
    public sealed record Query(string Name) : IRequest<AgentChain>;

    internal sealed class Handler(AgentRegistry registry) : IRequestHandler<Query, AgentChain>
    {
        public Task<AgentChain> Handle(Query query, CancellationToken cancellationToken)
        {
            var record = registry.Find(query.Name) ?? throw new NotFoundException($"no agent named {query.Name}");
            return Task.FromResult(new AgentChain(record.Chain, (IReadOnlyDictionary<string, string>?)record.Models ?? new Dictionary<string, string>()));
        }
    }
}

/// <summary>An agent's providers in order, and the model each but the first runs.</summary>
public sealed record AgentChain(IReadOnlyList<string> Providers, IReadOnlyDictionary<string, string> Models)
{
    public bool IsChain => Providers.Count > 1;

    /// <summary>The model a call runs on <paramref name="provider"/>: its mapping, or null to send the agent's own.</summary>
    public string? ModelOn(string provider) => Models.GetValueOrDefault(provider);
}
