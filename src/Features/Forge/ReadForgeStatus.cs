using Hive.Shared.Agents;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary><c>GET /api/forge</c>: the core user, orgs and meta repo, the last push, and each live agent's account.</summary>
public static class ReadForgeStatus
{
    public sealed record Query : IRequest<ForgeStatus>;

    internal sealed class Handler(ForgeState state, IOptions<ForgeOptions> options, IAgentDirectory directory) : IRequestHandler<Query, ForgeStatus>
    {
        public Task<ForgeStatus> Handle(Query query, CancellationToken cancellationToken) =>
            Task.FromResult(state.Status(options.Value, directory.List().Select(a => a.Name)));
    }
}
