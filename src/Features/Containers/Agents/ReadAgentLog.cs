using Hive.Features.Containers.Runtime;
using Hive.Shared;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The last lines of an agent's stdout and stderr (its log lives outside its state dir, so no agent can forge it).</summary>
public static class ReadAgentLog
{
    public const int MaxLines = 10_000;
    public const int DefaultLines = 200;

    public sealed record Query(string Name, long? Tail) : IRequest<string>;

    internal sealed class Handler(AgentRegistry registry, HivePaths paths) : IRequestHandler<Query, string>
    {
        public Task<string> Handle(Query query, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(query.Name);
            if (query.Tail is < 1 or > MaxLines) throw new BadRequestException($"tail must be between 1 and {MaxLines}");
            if (registry.Find(name) is null && !registry.IsTombstone(name)) throw new NotFoundException($"no agent named {name}");
            return Task.FromResult(AgentLog.Tail(paths.AgentLogDir(name), (int)(query.Tail ?? DefaultLines)));
        }
    }
}
