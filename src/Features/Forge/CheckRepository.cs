using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>
/// Whether the forge has a repository the hive can reach (a workflow naming it is refused otherwise, before any claim
/// fails on it). Asked as the core user, or as the bootstrap admin before the start-up sweep has issued the core token.
/// The answer is null when it does, else one line saying why not (no forge, no such repository, the forge unreachable).
/// </summary>
public static class CheckRepository
{
    public sealed record Query(string Repository) : IRequest<string?>;

    internal sealed class Handler(IOptions<ForgeOptions> options, ForgeSweep sweep, ForgejoClient forge) : IRequestHandler<Query, string?>
    {
        public async Task<string?> Handle(Query query, CancellationToken cancellationToken)
        {
            var settings = options.Value;
            if (!settings.Enabled) return "no forge is configured here (Hive:Forge:Url is empty), so the repository cannot be reached";
            if (!ForgeGit.IsRepository(query.Repository)) return $"'{query.Repository}' is not a repository's owner/name";
            try
            {
                var auth = TokenFile.Read(sweep.CoreTokenFile) is { } token ? new ForgeAuth.Token(token) : sweep.Bootstrap();
                if (auth is null) return "the hive has no forge token yet (the forge sweep issues it; see GET /api/forge), so the repository cannot be looked up";
                return await forge.RepoExistsAsync(query.Repository, auth, cancellationToken)
                    ? null
                    : $"the forge at {settings.BaseUri} has no repository {query.Repository} (or the hive's core user cannot see it)";
            }
            catch (ForgeException e)
            {
                return $"the forge cannot be asked: {e.Message}";
            }
        }
    }
}
