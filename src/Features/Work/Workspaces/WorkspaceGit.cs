using Hive.Features.Forge;
using Hive.Shared;
using Hive.Shared.Errors;
using Hive.Shared.Processes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// git as the workspaces run it: on the host's side (a clone's own dir, never inside a worktree, whose files are the
/// agent's), and against the repository: the forge's as <c>core</c> or as an agent (<see cref="ForgeGit"/>), a plain one as
/// the hive (<see cref="RemoteGit"/>); either is the remote <c>forge</c> of that run only.
/// </summary>
internal sealed class WorkspaceGit(HivePaths paths, IServiceScopeFactory scopes)
{
    /// <summary>git's output; a failure is a <see cref="ConflictException"/> with its first line (or nothing, when <paramref name="allowFailure"/>).</summary>
    public async Task<string> GitAsync(string directory, string[] args, CancellationToken ct, bool allowFailure = false, string? standardInput = null)
    {
        var git = await RunAsync(directory, args, ct, standardInput);
        if (git.ExitCode != 0 && !allowFailure)
            throw new ConflictException($"git {args[0]} {(args.Length > 1 ? args[1] : "")} failed: {WorkspaceDisk.FirstLine(git.TimedOut ? "it did not finish in time" : git.Stderr)}");
        return git.ExitCode == 0 ? git.Stdout : "";
    }

    public async Task<string?> RevParseAsync(string bare, string rev, CancellationToken ct)
    {
        var git = await RunAsync(bare, ["rev-parse", "--verify", "--quiet", rev], ct);
        return git.ExitCode == 0 && git.Stdout.Trim() is { Length: > 0 } sha ? sha : null;
    }

    /// <summary>
    /// git on the host's side only (never the forge): no system or user configuration, no prompts, no hooks, run in the clone
    /// (the host's own dir), never inside a worktree, whose files are the agent's.
    /// </summary>
    public Task<ChildResult> RunAsync(string directory, string[] args, CancellationToken ct, string? standardInput = null) =>
        ChildProcess.RunAsync(new ChildCommand("git", args)
        {
            WorkingDirectory = directory,
            StandardInput = standardInput,
            Timeout = TimeSpan.FromMinutes(10),
            Environment = new Dictionary<string, string>
            {
                ["HOME"] = paths.DataDir, ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_CONFIG_GLOBAL"] = "/dev/null", ["GIT_TERMINAL_PROMPT"] = "0",
                ["GIT_CONFIG_COUNT"] = "1", ["GIT_CONFIG_KEY_0"] = "core.hooksPath", ["GIT_CONFIG_VALUE_0"] = "/dev/null",
            },
        }, ct);

    /// <summary>
    /// git against the repository (the remote <c>forge</c>): the forge's as <c>core</c>, a plain one with its credential; its
    /// output, or a <see cref="ConflictException"/> with its first line.
    /// </summary>
    public async Task<string> RemoteAsync(WorkRepository repository, string directory, string[] args, CancellationToken ct)
    {
        var git = await SendAsync(Command(repository, ForgeGit.CoreUser, directory, args), ct);
        return git.Succeeded ? git.Stdout : throw new ConflictException($"git {args[0]} of {repository.Address} from {repository.Where} failed: {WorkspaceDisk.FirstLine(git.Stderr)}");
    }

    /// <summary>
    /// Pushes <paramref name="branch"/> to the repository, not forced: to the forge as <paramref name="agent"/> (its token),
    /// to a plain one with its credential; a refusal is a <see cref="ConflictException"/>.
    /// </summary>
    public Task PushAsync(string agent, WorkRepository repository, string bare, string branch, CancellationToken ct) =>
        PushAsync(agent, repository, bare, $"refs/heads/{branch}", branch, ct);

    /// <summary>Pushes <paramref name="source"/> (a ref or a commit) to the repository's <paramref name="branch"/>, not forced; a refusal is a <see cref="ConflictException"/>.</summary>
    public async Task PushAsync(string user, WorkRepository repository, string bare, string source, string branch, CancellationToken ct)
    {
        var push = await SendAsync(Command(repository, user, bare, ["push", "--porcelain", ForgeGit.Remote, $"{source}:refs/heads/{branch}"]), ct);
        if (!push.Succeeded)
            throw new ConflictException($"pushing {branch} to {repository.Address} {(repository.OnForge ? "as" : "for")} {user} failed: {WorkspaceDisk.FirstLine(Rejection(push))}");
    }

    /// <summary>The head of the repository's <paramref name="branch"/>, or null when it has none.</summary>
    public async Task<string?> RemoteHeadAsync(WorkRepository repository, string branch, string directory, CancellationToken ct)
    {
        var heads = await RemoteAsync(repository, directory, ["ls-remote", ForgeGit.Remote, $"refs/heads/{branch}"], ct);
        var line = heads.Split('\n').FirstOrDefault(l => l.EndsWith($"\trefs/heads/{branch}", StringComparison.Ordinal));
        return line?.Split('\t')[0];
    }

    /// <summary>The repository's default branch (what its HEAD names), as the clone knows it after a fetch.</summary>
    public async Task<string> DefaultBranchAsync(WorkRepository repository, string bare, CancellationToken ct)
    {
        var head = await RemoteAsync(repository, bare, ["ls-remote", "--symref", ForgeGit.Remote, "HEAD"], ct);
        foreach (var line in head.Split('\n'))
            if (line.StartsWith("ref: refs/heads/", StringComparison.Ordinal) && line.EndsWith("\tHEAD", StringComparison.Ordinal))
            {
                var branch = line["ref: refs/heads/".Length..^"\tHEAD".Length];
                if (WorkspaceNames.IsBranch(branch) && await RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{branch}", ct) is not null) return branch;
            }
        throw new ConflictException($"{repository.Address} on {repository.Where} has no commits yet: push a first commit to its default branch");
    }

    /// <summary>A forge repository's git runs as <paramref name="user"/>; a plain one's as the hive, with the workflow's credential.</summary>
    private static IRequest<ForgeGit.Result> Command(WorkRepository repository, string user, string directory, string[] args) =>
        repository.OnForge
            ? new ForgeGit.Command(user, repository.Address, directory, args)
            : new RemoteGit.Command(repository.Address, repository.Credential, directory, args);

    /// <summary>Sends <paramref name="request"/> in a scope of its own (the workspaces are a singleton, called outside any request).</summary>
    public async Task<T> SendAsync<T>(IRequest<T> request, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request, ct);
    }

    private static string Rejection(ForgeGit.Result push) =>
        push.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith('!')) is { } refused ? refused.TrimStart('!').Trim() : push.Stderr;
}
