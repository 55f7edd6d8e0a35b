using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary><c>POST /api/forge/sweep</c>: the operator asks for a whole sweep now (after fixing the forge, say); answers when it has run.</summary>
public static class SweepForge
{
    public sealed record Command : IRequest<ForgeStatus>;

    internal sealed class Handler(ForgeSweeper sweeper, ForgeState state, IOptions<ForgeOptions> options, IAgentDirectory directory)
        : IRequestHandler<Command, ForgeStatus>
    {
        public async Task<ForgeStatus> Handle(Command command, CancellationToken cancellationToken)
        {
            if (!options.Value.Enabled) throw new ConflictException("the forge is off: set Hive:Forge:Url to a Forgejo's address");
            await sweeper.SweepAllAsync(cancellationToken);
            return state.Status(options.Value, directory.List().Select(a => a.Name));
        }
    }
}
