using Hive.Features.Containers.Runtime;
using Hive.Features.Forge;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// A git worktree per ticket of a workflow that names a repository (<see cref="WorkRepository"/>: the forge's or a plain
/// one): what the board's claim, submit and done
/// ask of it, outside their own change (git is slow). Every method is idempotent and may be called again after a host
/// crash at any point, and one at a time runs (a lock: git's own locks would refuse the second anyway). The clones are
/// <see cref="RepositoryClones"/>', the worktrees <see cref="Worktrees"/>'.
/// <para>
/// One workspace per agent at a time (a second one is a <see cref="ConflictException"/>), and two agents never share a
/// worktree: each has its own dir. Known gap: the tickets of one repository share the bare clone's object store and refs,
/// so an agent can read, and move, another ticket's branch in the clone (never its worktree, nor the forge's branch, which
/// only that ticket's assignee's token pushes), and on a host that is not root (every agent the same user) another
/// ticket's worktree record. On a root host the store's <c>objects</c>, <c>refs</c> and <c>logs</c> are the agents'
/// group's to write, <c>worktrees/</c> the host's, each record in it its agent's.
/// </para>
/// </summary>
internal sealed class TicketWorkspaces(
    HivePaths paths, WorkspaceRows rows, Worktrees worktrees, RepositoryClones clones, WorkspaceGit git, WorkflowCatalog catalog, ILogger<TicketWorkspaces> logger)
{
    /// <summary>Where a sandboxed agent sees its workspace.</summary>
    public const string InsidePath = BubblewrapDriver.InsideWorkPath;

    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>
    /// The ticket's workspace for <paramref name="agent"/>: made if it is not there (<see cref="Worktrees.CheckOutAsync"/>),
    /// else returned as it is. A workspace the ticket had with another agent or repository is removed first.
    /// </summary>
    /// <exception cref="BadRequestException">A malformed agent name or repository.</exception>
    /// <exception cref="ConflictException">
    /// <paramref name="agent"/> already holds another ticket's workspace ("alice already works ticket 7 in /work"); the forge is
    /// off, refuses, has no such repository, or the repository cannot be reached or has no commits yet; git failed (its
    /// first line said).
    /// </exception>
    /// <exception cref="NotFoundException">On a root host, no agent of that name.</exception>
    public async Task<WorkspaceView> EnsureAsync(long ticketId, string title, string agent, WorkRepository repository, CancellationToken ct)
    {
        if (!AgentNames.IsWellFormed(agent)) throw new BadRequestException($"{agent} is not an agent's name");
        if (repository.Problem is { } problem) throw new BadRequestException($"repository {repository.Address}: {problem}");
        await _lock.WaitAsync(ct);
        try
        {
            var row = rows.Find(ticketId);
            if (rows.OtherOf(agent, ticketId) is { } other) throw new ConflictException($"{agent} already works ticket {other} in {InsidePath}");
            if (row is { RemovedAt: null } && (row.Agent != agent || row.Repository != repository.Address)) await worktrees.RemoveAsync(row, ct);
            else if (row is { RemovedAt: null } && worktrees.Intact(row)) return row.View();
            return await worktrees.CheckOutAsync(ticketId, title, agent, repository, row, ct);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Pushes the ticket's branch (what <c>refs/heads/ticket/…</c> holds in the clone: what the agent committed on it, not
    /// another branch it may have checked out) to the repository, not forced: to the forge as the assignee's own forge user
    /// (its token), to a plain repository by the hive with its credential. A branch someone moved there meanwhile refuses
    /// the push. The bytes are measured again.
    /// </summary>
    /// <returns>The pushed head; null when the branch has no commit beyond where it started (nothing is pushed then).</returns>
    /// <exception cref="NotFoundException">The ticket has no live workspace.</exception>
    /// <exception cref="ConflictException">
    /// The push failed (the repository's or git's first line), the agent has no forge token, or the workflow names another
    /// repository now than the workspace's.
    /// </exception>
    public async Task<string?> PushAsync(long ticketId, WorkRepository repository, CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            var row = rows.Find(ticketId) is { RemovedAt: null } live ? live : throw new NotFoundException($"ticket {ticketId} has no workspace");
            if (row.Repository != repository.Address)
                throw new ConflictException($"ticket {ticketId}'s workspace is of {row.Repository}, but its workflow names {repository.Address} now: claim it again");
            var bare = clones.BareOf(row.Repository);
            clones.Scrub(row.Repository);
            var head = await git.RevParseAsync(bare, $"refs/heads/{row.Branch}", ct);
            string? pushed = null;
            if (head is not null && head != row.BaseSha)
            {
                await git.PushAsync(row.Agent, repository, bare, row.Branch, ct);
                pushed = head;
            }
            await rows.MeasuredAsync(ticketId, pushed, HivePaths.BytesUnder(row.HostPath));
            if (pushed is not null) logger.LogInformation("work: pushed {Branch} {Commit} to {Repository} for {Agent}", row.Branch, pushed[..12], row.Repository, row.Agent);
            return pushed;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// The merge queue's view of the repository: its clone fetched (made if need be, as <c>core</c> on the forge), its
    /// default branch (the base the queue lands on) and that branch's head.
    /// </summary>
    /// <exception cref="ConflictException">The repository could not be reached, or has no commits.</exception>
    public async Task<(string Bare, string Base, string BaseSha)> FetchBaseAsync(WorkRepository repository, CancellationToken ct)
    {
        if (repository.Problem is { } problem) throw new BadRequestException($"repository {repository.Address}: {problem}");
        await _lock.WaitAsync(ct);
        try
        {
            var owner = await git.SendAsync(new ReadAgentOwner.Query(ForgeGit.CoreUser), ct);
            var bare = await clones.CloneAsync(repository, owner.Gid, ct);
            var main = await git.DefaultBranchAsync(repository, bare, ct);
            var head = await git.RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{main}", ct)
                       ?? throw new ConflictException($"{repository.Address} has no {main} in its clone after a fetch");
            return (bare, main, head);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Advances the repository's <paramref name="branch"/> to <paramref name="sha"/> (a commit of the clone), not forced: a
    /// fast-forward, pushed as the hive (<c>core</c> on the forge; with the workflow's credential to a plain one).
    /// </summary>
    /// <exception cref="ConflictException">The push was refused (the branch moved meanwhile) or failed.</exception>
    public async Task PushBaseAsync(WorkRepository repository, string sha, string branch, CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            clones.Scrub(repository.Address);
            await git.PushAsync(ForgeGit.CoreUser, repository, clones.BareOf(repository.Address), sha, branch, ct);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Whether the repository's <paramref name="branch"/> holds <paramref name="sha"/> now (asked of the repository, after a fetch).</summary>
    public async Task<bool> OnBaseAsync(WorkRepository repository, string branch, string sha, CancellationToken ct)
    {
        var (bare, main, head) = await FetchBaseAsync(repository, ct);
        if (main != branch) head = await git.RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{branch}", ct) ?? "";
        return head.Length > 0 && (await git.RunAsync(bare, ["merge-base", "--is-ancestor", sha, head], ct)).ExitCode == 0;
    }

    /// <summary>Whether <paramref name="repository"/> has <paramref name="branch"/> (the forge's asked as <c>core</c>).</summary>
    /// <exception cref="BadRequestException">A malformed repository or branch.</exception>
    /// <exception cref="ConflictException">The forge is off, or the repository could not be asked.</exception>
    public async Task<bool> BranchExistsAsync(WorkRepository repository, string branch, CancellationToken ct)
    {
        Check(repository, branch);
        HivePaths.EnsurePrivateDirectory(paths.WorkDir);
        return (await git.RemoteHeadAsync(repository, branch, paths.WorkDir, ct)) is not null;
    }

    /// <summary>
    /// Whether <paramref name="sha"/> (a full id or an abbreviation) is on the repository's <paramref name="branch"/>: its head or
    /// one of its ancestors. The branch is fetched into the repository's clone (made if need be) to look.
    /// </summary>
    /// <exception cref="BadRequestException">A malformed repository, branch or commit id.</exception>
    /// <exception cref="ConflictException">The forge is off, or the repository could not be asked.</exception>
    public async Task<bool> CommitExistsAsync(WorkRepository repository, string branch, string sha, CancellationToken ct)
    {
        Check(repository, branch);
        if (!WorkspaceNames.IsSha(sha)) throw new BadRequestException($"{sha} is not a commit id");
        await _lock.WaitAsync(ct);
        try
        {
            var owner = await git.SendAsync(new ReadAgentOwner.Query(ForgeGit.CoreUser), ct);
            var bare = await clones.CloneAsync(repository, owner.Gid, ct);
            var head = await git.RemoteHeadAsync(repository, branch, bare, ct);
            if (head is null) return false;
            var tracking = $"refs/remotes/{ForgeGit.Remote}/{branch}";
            await git.RemoteAsync(repository, bare, ["fetch", "--quiet", "--no-tags", ForgeGit.Remote, $"+refs/heads/{branch}:{tracking}"], ct);
            await clones.GroupAsync(repository.Address, owner.Gid, ct);
            var commit = await git.RevParseAsync(bare, sha.ToLowerInvariant() + "^{commit}", ct);
            if (commit is null) return false;
            var ancestor = await git.RunAsync(bare, ["merge-base", "--is-ancestor", commit, tracking], ct);
            return ancestor.ExitCode == 0;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Removes the ticket's worktree: its files (the agent's work dir stays, empty: a running sandbox binds it) and git's
    /// record of it. The branch stays, in the clone and in the repository. The row stays too, with the bytes removed and when.
    /// Nothing to do for a ticket without a live workspace.
    /// </summary>
    public async Task RemoveAsync(long ticketId, CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            if (rows.Find(ticketId) is { RemovedAt: null } row) await worktrees.RemoveAsync(row, ct);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The workspace of a ticket, live or removed; null when it never had one.</summary>
    public WorkspaceView? Get(long ticketId) => rows.Find(ticketId)?.View();

    /// <summary>
    /// At start-up: a live workspace whose worktree is gone (or is no longer the ticket's), or whose ticket is done or gone,
    /// is removed; each clone forgets worktrees that are no longer there.
    /// </summary>
    public async Task ReconcileAsync(CancellationToken ct)
    {
        foreach (var ticketId in rows.Live())
        {
            await _lock.WaitAsync(ct);
            try
            {
                // Judged under the lock: a claim may have made it again meanwhile.
                if (rows.Find(ticketId) is not { RemovedAt: null } row) continue;
                var ticket = rows.TicketOf(ticketId);
                var done = ticket is { } t && catalog.IsTerminal(t.Workflow, t.Phase);
                if (ticket is not null && !done && worktrees.Intact(row)) continue;
                logger.LogInformation("work: ticket {Ticket}'s workspace is removed at start-up ({Why})", ticketId,
                    ticket is null ? "the ticket is gone" : done ? "the ticket is done" : "its worktree is gone");
                await worktrees.RemoveAsync(row, ct);
            }
            finally
            {
                _lock.Release();
            }
        }
        foreach (var bare in clones.All().ToList())
        {
            await _lock.WaitAsync(ct);
            try
            {
                await git.RunAsync(bare, ["worktree", "prune"], ct);
            }
            finally
            {
                _lock.Release();
            }
        }
    }

    private static void Check(WorkRepository repository, string branch)
    {
        if (repository.Problem is { } problem) throw new BadRequestException($"repository {repository.Address}: {problem}");
        if (!WorkspaceNames.IsBranch(branch)) throw new BadRequestException($"{branch} is not a branch name");
    }
}
