using Hive.Features.Containers.Runtime;
using Hive.Features.Forge;
using Hive.Shared;
using Hive.Shared.Errors;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// A ticket's worktree on disk: its branch <c>ticket/&lt;id&gt;-&lt;slug&gt;</c> checked out, off the repository's default branch,
/// in the claiming agent's own work dir <c>&lt;DataDir&gt;/agents/&lt;agent&gt;/work</c>, which the bubblewrap driver binds
/// at <c>/work</c> at every start (empty until then) and the process driver names in <c>HIVE_WORK_DIR</c>: bwrap cannot add
/// a mount to a sandbox that already runs, so the worktree is made inside the dir the sandbox already shows. On a root host
/// each agent is a uid of its own (<see cref="ReadAgentOwner"/>): the worktree is checked out while its dir is the host's
/// (the agent cannot plant anything in it meanwhile), then handed to the agent with its git dir; a removal takes the dir
/// back before emptying it. Callers hold the workspaces' lock.
/// </summary>
internal sealed class Worktrees(HivePaths paths, WorkspaceGit git, RepositoryClones clones, WorkspaceRows rows, TimeProvider clock, ILogger<Worktrees> logger)
{
    /// <summary>
    /// Checks the ticket's branch out for <paramref name="agent"/> (made off the repository's default branch, or taken from
    /// the clone or the repository when it exists already, so a re-claimed ticket goes on from its pushed work) and records it.
    /// </summary>
    public async Task<WorkspaceView> CheckOutAsync(long ticketId, string title, string agent, WorkRepository repository, WorkspaceRow? previous, CancellationToken ct)
    {
        var owner = await git.SendAsync(new ReadAgentOwner.Query(agent), ct);
        if (owner.Gid is not null && owner.Uid is null) throw new NotFoundException($"no agent named {agent}");
        var bare = await clones.CloneAsync(repository, owner.Gid, ct);
        var main = await git.DefaultBranchAsync(repository, bare, ct);
        var branch = previous?.Branch ?? WorkspaceNames.BranchOf(ticketId, title); // a ticket keeps its branch, renamed or re-claimed
        var work = paths.AgentWorkDir(agent);

        // The dir is the host's while it is filled: an agent cannot plant a link for the checkout to follow.
        if (!Directory.Exists(work)) Directory.CreateDirectory(work, HivePaths.PrivateDir);
        if (owner.Uid is not null) await WorkspaceDisk.ChownAsync(work, 0, 0, WorkspaceDisk.OpenDir, ct);
        await WorkspaceDisk.EmptyAsync(work, ct);
        await git.GitAsync(bare, ["worktree", "prune"], ct);

        string baseSha;
        if (await git.RevParseAsync(bare, $"refs/heads/{branch}", ct) is not null)
        {
            await git.GitAsync(bare, ["worktree", "add", "--quiet", work, branch], ct);
            baseSha = (await git.GitAsync(bare, ["merge-base", $"refs/heads/{branch}", $"refs/remotes/{ForgeGit.Remote}/{main}"], ct, allowFailure: true)).Trim();
        }
        else
        {
            var onForge = await git.RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{branch}", ct);
            var start = onForge is not null ? $"refs/remotes/{ForgeGit.Remote}/{branch}" : $"refs/remotes/{ForgeGit.Remote}/{main}";
            await git.GitAsync(bare, ["worktree", "add", "--quiet", "--no-track", "-b", branch, work, start], ct);
            baseSha = (await git.RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{main}", ct))!;
        }
        if (baseSha.Length == 0) baseSha = (await git.RevParseAsync(bare, $"refs/heads/{branch}", ct))!;
        var gitDir = GitDirOf(work, bare) ?? throw new ConflictException($"git made no worktree of {repository.Address} in {work}");
        if (owner.Uid is { } uid)
        {
            await WorkspaceDisk.ChownTreeAsync(Path.Combine(bare, "worktrees", gitDir), uid, owner.Gid!.Value, ct);
            await WorkspaceDisk.ChownTreeAsync(work, uid, owner.Gid!.Value, ct);
        }
        await clones.GroupAsync(repository.Address, owner.Gid, ct); // the branch git just made is the group's to move

        var now = clock.GetUtcNow();
        var made = new WorkspaceRow(ticketId, agent, repository.Address, branch, work, gitDir, baseSha, null, HivePaths.BytesUnder(work), now, now, null);
        await rows.SaveAsync(made);
        logger.LogInformation("work: ticket {Ticket}'s workspace ({Repository}, {Branch}) is in {Agent}'s {Path}", ticketId, repository.Address, branch, agent,
            TicketWorkspaces.InsidePath);
        return made.View();
    }

    /// <summary>Empties the worktree (the agent's dir stays: a running sandbox binds it), forgets git's record of it, and records the removal.</summary>
    public async Task RemoveAsync(WorkspaceRow row, CancellationToken ct)
    {
        var bytes = HivePaths.BytesUnder(row.HostPath);
        var bare = clones.BareOf(row.Repository);
        var owner = await git.SendAsync(new ReadAgentOwner.Query(row.Agent), ct);
        if (Directory.Exists(row.HostPath))
        {
            if (owner.Gid is not null) await WorkspaceDisk.ChownAsync(row.HostPath, 0, 0, WorkspaceDisk.OpenDir, ct); // the agent cannot add to it meanwhile
            await WorkspaceDisk.EmptyAsync(row.HostPath, ct);
        }
        var record = Path.Combine(bare, "worktrees", row.GitDir);
        if (Directory.Exists(record)) await WorkspaceDisk.RunAsync("/bin/rm", ["-rf", "--one-file-system", "--", record], ct);
        if (Directory.Exists(bare)) await git.RunAsync(bare, ["worktree", "prune"], ct);
        await rows.RemovedAsync(row.TicketId, bytes);
        logger.LogInformation("work: ticket {Ticket}'s workspace in {Agent}'s {Path} is removed ({Bytes} bytes)", row.TicketId, row.Agent,
            TicketWorkspaces.InsidePath, bytes);
    }

    /// <summary>Whether the agent's work dir still holds this ticket's worktree: its <c>.git</c> names the row's git dir, which is there.</summary>
    public bool Intact(WorkspaceRow row) =>
        GitDirOf(row.HostPath, clones.BareOf(row.Repository)) == row.GitDir && Directory.Exists(Path.Combine(clones.BareOf(row.Repository), "worktrees", row.GitDir));

    /// <summary>The name of the worktree's git dir under the clone's <c>worktrees/</c>, read from its <c>.git</c> file (a regular file only).</summary>
    private static string? GitDirOf(string work, string bare)
    {
        var file = Path.Combine(work, ".git");
        try
        {
            if (new FileInfo(file) is not { Exists: true, LinkTarget: null, Length: < 4096 }) return null;
            var text = File.ReadAllText(file).Trim();
            var prefix = $"gitdir: {Path.Combine(bare, "worktrees")}/";
            return text.StartsWith(prefix, StringComparison.Ordinal) && text[prefix.Length..] is { Length: > 0 } name && !name.Contains('/') ? name : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
