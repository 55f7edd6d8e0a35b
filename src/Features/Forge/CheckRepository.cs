using Hive.Shared;
using Hive.Shared.Errors;
using Hive.Shared.Files;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>
/// Whether the hive can reach a workflow's repository (a workflow naming it is refused otherwise, before any claim fails
/// on it). On the forge (<c>owner/name</c>): asked as the core user, or as the bootstrap admin before the start-up sweep
/// has issued the core token. A plain one (<see cref="RemoteGit"/>): <c>git ls-remote</c> with its credential; a path
/// inside the data dir is refused (agents write there, and git runs a repository's hooks on a push to it). The answer is
/// null when it can, else one line saying why not (no forge, no such repository, unreachable, no such secret).
/// </summary>
public static class CheckRepository
{
    /// <param name="Credential">A plain repository's secret name (<see cref="RemoteGit.Command.Credential"/>).</param>
    public sealed record Query(string Repository, string? Credential = null) : IRequest<string?>;

    internal sealed class Handler(IOptions<ForgeOptions> options, ForgeSweep sweep, ForgejoClient forge, HivePaths paths, IMediator mediator)
        : IRequestHandler<Query, string?>
    {
        /// <summary>How long <c>git ls-remote</c> may take to answer.</summary>
        private static readonly TimeSpan PlainTimeout = TimeSpan.FromSeconds(30);

        public async Task<string?> Handle(Query query, CancellationToken cancellationToken)
        {
            if (!ForgeGit.IsRepository(query.Repository)) return await PlainAsync(query, cancellationToken);
            if (query.Credential is not null) return "a credential is for a plain repository: the forge's are reached as the hive's forge users";
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

        private async Task<string?> PlainAsync(Query query, CancellationToken ct)
        {
            if (RemoteGit.Problem(query.Repository, query.Credential) is { } problem) return problem;
            var path = query.Repository.StartsWith('/') ? query.Repository : query.Repository.StartsWith("file://", StringComparison.Ordinal) ? new Uri(query.Repository).LocalPath : null;
            if (path is not null && RealPaths.Of(path) is { } resolved && RealPaths.Overlaps(resolved, paths.DataDir))
                return "a path inside the hive's data dir is refused: agents write there, and git runs a repository's hooks when the hive pushes to it";
            try
            {
                var git = await mediator.Send(new RemoteGit.Command(query.Repository, query.Credential, paths.DataDir, ["ls-remote", ForgeGit.Remote, "HEAD"], PlainTimeout), ct);
                return git.Succeeded ? null : $"git cannot reach it: {FirstLine(git.Stderr)}";
            }
            catch (ConflictException e)
            {
                return e.Message;
            }
        }

        private static string FirstLine(string text) =>
            text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(l => !l.StartsWith("hint:", StringComparison.Ordinal)) ?? "git said nothing";
    }
}
