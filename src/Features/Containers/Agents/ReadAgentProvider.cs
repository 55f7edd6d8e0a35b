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
