using System.Text.RegularExpressions;
using FluentValidation;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Processes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

/// <summary>
/// Runs one git command against a repository on the forge as a forge user: <c>core</c> (the hive's own, with the core
/// token) or an agent (its own token, <c>&lt;state dir&gt;/forge-token</c>). The Forge slice owns the forge's address and
/// the tokens, so the command names the repository, never a URL: it reaches the forge as the remote <c>forge</c>
/// (<see cref="Remote"/>, fetching <c>refs/heads/*</c> into <c>refs/remotes/forge/*</c>), defined for this run only, so
/// nothing of the forge is written into the repository's config. The token reaches git only through a credential helper
/// that reads a file only the host can read (an agent's token is copied there first: the agent owns its state dir): never
/// an argv, the environment, a URL or a log line; the answer's text is redacted of it besides.
/// </summary>
public static partial class ForgeGit
{
    /// <summary>The remote's name in the command: <c>git fetch forge</c>, <c>git push forge ...</c>, <c>git ls-remote forge</c>.</summary>
    public const string Remote = "forge";

    /// <summary>The hive's own forge user (site admin): the user to read any repository as.</summary>
    public const string CoreUser = ForgeSweep.CoreUser;

    /// <summary>
    /// <paramref name="User"/>: <c>core</c> or an agent's name; <paramref name="Repository"/>: <c>owner/name</c>;
    /// <paramref name="WorkingDirectory"/>: where git runs (a repository, or any directory for <c>ls-remote</c>);
    /// <paramref name="Timeout"/>: default <c>Hive:Forge:PushTimeoutSeconds</c>.
    /// </summary>
    public sealed record Command(string User, string Repository, string WorkingDirectory, IReadOnlyList<string> Args, TimeSpan? Timeout = null)
        : IRequest<Result>;

    /// <summary>How git ended (<paramref name="ExitCode"/> -1: it did not finish in time, <paramref name="Stderr"/> says so), its output redacted of the token.</summary>
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public bool Succeeded => ExitCode == 0;
    }

    /// <summary>A repository as the forge names it: <c>owner/name</c>, each a plain name (no dots at the start, no <c>..</c>).</summary>
    public static bool IsRepository(string? repository) => repository is { Length: <= 200 } && RepositoryPattern().IsMatch(repository)
        && !repository.Contains("..", StringComparison.Ordinal);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryPattern();

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.User).Must(u => u == ForgeSweep.CoreUser || AgentNames.IsWellFormed(u)).WithMessage("user must be core or an agent's name");
            RuleFor(c => c.Repository).Must(IsRepository).WithMessage("repository must be owner/name");
            RuleFor(c => c.Args).NotEmpty();
            RuleFor(c => c.WorkingDirectory).Must(Path.IsPathFullyQualified).WithMessage("working_directory must be an absolute path");
        }
    }

    internal sealed class Handler(IOptions<ForgeOptions> options, HivePaths paths) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var forge = options.Value;
            if (!forge.Enabled) throw new ConflictException("the forge is off (Hive:Forge:Url is empty)");
            var token = TokenOf(paths, command.User);
            var (owner, name) = (command.Repository[..command.Repository.IndexOf('/')], command.Repository[(command.Repository.IndexOf('/') + 1)..]);
            return await ForgeGitEnvironment.RunAsync(paths.DataDir, $"{forge.BaseUri}{owner}/{name}.git", command.User, token, command.WorkingDirectory,
                command.Args, command.Timeout ?? TimeSpan.FromSeconds(forge.PushTimeoutSeconds), cancellationToken);
        }
    }

    /// <summary>The forge token of <paramref name="user"/> (<c>core</c> or an agent).</summary>
    /// <exception cref="ConflictException">It has none yet, or its file is not a plain file.</exception>
    internal static string TokenOf(HivePaths paths, string user)
    {
        // The agent's token file is its own (a link or a FIFO could sit there): read as a regular file only; callers get a copy.
        var (path, missing) = user == ForgeSweep.CoreUser
            ? (ForgeSweep.CoreTokenPath(paths), "the core user has no token yet (see the forge sweep's errors)")
            : (Path.Combine(paths.AgentStateDir(user), ForgeSweep.TokenFileName), $"{user} has no forge token yet (the forge sweep issues it)");
        try
        {
            return TokenFile.Read(path) ?? throw new ConflictException(missing);
        }
        catch (ForgeException e)
        {
            throw new ConflictException(e.Message);
        }
    }
}
