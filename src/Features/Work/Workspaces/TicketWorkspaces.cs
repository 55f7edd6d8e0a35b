using Dapper;
using Hive.Features.Containers.Runtime;
using Hive.Features.Forge;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Hive.Shared.Processes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// A git worktree per ticket of a workflow that names a repository on the forge (issue #31 item 6). The board's claim,
/// submit and done call it outside their own change (git is slow); every method is idempotent and may be called again
/// after a host crash at any point, and one at a time runs (a lock: git's own locks would refuse the second anyway).
/// <para>
/// Layout. One bare clone per repository, shared by its tickets, at <c>&lt;DataDir&gt;/work/repos/&lt;owner&gt;/&lt;name&gt;.git</c>
/// (fetched from the forge as <c>core</c>; the forge is the remote <c>forge</c> of each run only, <see cref="ForgeGit"/>,
/// so no address or token is written into it). A ticket's branch <c>ticket/&lt;id&gt;-&lt;slug&gt;</c> is checked out, off
/// the forge's default branch, in the claiming agent's own work dir <c>&lt;DataDir&gt;/agents/&lt;agent&gt;/work</c>, which
/// the bubblewrap driver binds at <c>/work</c> at every start (empty until then) and the process driver names in
/// <c>HIVE_WORK_DIR</c>: bwrap cannot add a mount to a sandbox that already runs, so the worktree is made inside the dir
/// the sandbox already shows. The sandbox also binds <c>work/repos</c> (read-only) and <c>work/store</c> (read-write) at
/// their host paths, because the worktree's <c>.git</c> file names its git dir (<c>…/worktrees/&lt;n&gt;</c>) by an
/// absolute host path; a clone's <c>objects</c>, <c>refs</c>, <c>logs</c> and <c>worktrees</c> are links into the store,
/// so an agent's git writes those and nothing else (a clone's <c>config</c> could make any git that opens it run a
/// command: the host's fetch, or another agent's commit).
/// </para>
/// <para>
/// Hence one workspace per agent at a time (a second one is a <see cref="ConflictException"/>), and two agents never share
/// a worktree: each has its own dir. Known gap: the tickets of one repository share the bare clone's object store and
/// refs, so an agent can read, and move, another ticket's branch in the clone (never its worktree, nor the forge's
/// branch, which only that ticket's assignee's token pushes), and on a host that is not root (every agent the same user)
/// another ticket's worktree record. On a root host the store's <c>objects</c>, <c>refs</c> and <c>logs</c> are the
/// agents' group's to write, <c>worktrees/</c> the host's, each record in it its agent's.
/// </para>
/// <para>
/// On a root host each agent is a uid of its own (<see cref="ReadAgentOwner"/>): the worktree is checked out while its
/// dir is the host's (the agent cannot plant anything in it meanwhile), then handed to the agent with its git dir; a
/// removal takes the dir back before emptying it.
/// </para>
/// </summary>
internal sealed class TicketWorkspaces(
    HivePaths paths, IDb db, StateChanges changes, IServiceScopeFactory scopes, WorkflowCatalog catalog, TimeProvider clock, ILogger<TicketWorkspaces> logger)
{
    /// <summary>Where a sandboxed agent sees its workspace.</summary>
    public const string InsidePath = BubblewrapDriver.InsideWorkPath;

    /// <summary>The phase a ticket is done in (the shipped workflow's terminal phase): the start-up reconcile removes its workspace.</summary>

    private const string Columns = "ticket_id, agent, repository, branch, host_path, git_dir, base_sha, head_sha, bytes, created_at, measured_at, removed_at";

    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>
    /// The ticket's workspace for <paramref name="agent"/>: made if it is not there (the bare clone cloned or fetched, the
    /// branch made off the forge's default branch, or taken from the clone or the forge when it exists already, so a
    /// re-claimed ticket goes on from its pushed work), else returned as it is. A workspace the ticket had with another
    /// agent or repository is removed first.
    /// </summary>
    /// <exception cref="BadRequestException">A malformed agent name or repository.</exception>
    /// <exception cref="ConflictException">
    /// <paramref name="agent"/> already holds another ticket's workspace ("alice already works ticket 7 in /work"); the forge is
    /// off, refuses, has no such repository, or the repository has no commits yet; git failed (its first line said).
    /// </exception>
    /// <exception cref="NotFoundException">On a root host, no agent of that name.</exception>
    public async Task<WorkspaceView> EnsureAsync(long ticketId, string title, string agent, string repository, CancellationToken ct)
    {
        if (!AgentNames.IsWellFormed(agent)) throw new BadRequestException($"{agent} is not an agent's name");
        if (!ForgeGit.IsRepository(repository)) throw new BadRequestException($"{repository} is not a repository's owner/name");
        await _lock.WaitAsync(ct);
        try
        {
            var row = Find(ticketId);
            using (var connection = db.Open())
            {
                var busy = connection.QuerySingleOrDefault<long?>(
                    "SELECT ticket_id FROM ticket_workspaces WHERE agent = @agent AND removed_at IS NULL AND ticket_id <> @ticketId",
                    new { agent, ticketId });
                if (busy is { } other) throw new ConflictException($"{agent} already works ticket {other} in {InsidePath}");
            }
            if (row is { RemovedAt: null } && (row.Agent != agent || row.Repository != repository)) await RemoveLockedAsync(row, ct);
            else if (row is { RemovedAt: null } && Intact(row)) return row.View();

            var owner = await SendAsync(new ReadAgentOwner.Query(agent), ct);
            if (owner.Gid is not null && owner.Uid is null) throw new NotFoundException($"no agent named {agent}");
            var bare = await CloneAsync(repository, owner.Gid, ct);
            var main = await DefaultBranchAsync(repository, bare, ct);
            var branch = row?.Branch ?? WorkspaceNames.BranchOf(ticketId, title); // a ticket keeps its branch, renamed or re-claimed
            var work = paths.AgentWorkDir(agent);

            // The dir is the host's while it is filled: an agent cannot plant a link for the checkout to follow.
            if (!Directory.Exists(work)) Directory.CreateDirectory(work, HivePaths.PrivateDir);
            if (owner.Uid is not null) await WorkspaceDisk.ChownAsync(work, 0, 0, OpenDir, ct);
            await WorkspaceDisk.EmptyAsync(work, ct);
            await GitAsync(bare, ["worktree", "prune"], ct);

            string baseSha;
            if (await RevParseAsync(bare, $"refs/heads/{branch}", ct) is not null)
            {
                await GitAsync(bare, ["worktree", "add", "--quiet", work, branch], ct);
                baseSha = (await GitAsync(bare, ["merge-base", $"refs/heads/{branch}", $"refs/remotes/{ForgeGit.Remote}/{main}"], ct, allowFailure: true)).Trim();
            }
            else
            {
                var onForge = await RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{branch}", ct);
                var start = onForge is not null ? $"refs/remotes/{ForgeGit.Remote}/{branch}" : $"refs/remotes/{ForgeGit.Remote}/{main}";
                await GitAsync(bare, ["worktree", "add", "--quiet", "--no-track", "-b", branch, work, start], ct);
                baseSha = (await RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{main}", ct))!;
            }
            if (baseSha.Length == 0) baseSha = (await RevParseAsync(bare, $"refs/heads/{branch}", ct))!;
            var gitDir = GitDirOf(work, bare) ?? throw new ConflictException($"git made no worktree of {repository} in {work}");
            if (owner.Uid is { } uid)
            {
                await WorkspaceDisk.ChownTreeAsync(Path.Combine(bare, "worktrees", gitDir), uid, owner.Gid!.Value, ct);
                await WorkspaceDisk.ChownTreeAsync(work, uid, owner.Gid!.Value, ct);
            }
            await GroupAsync(bare, StoreOf(repository), owner.Gid, ct); // the branch git just made is the group's to move

            var now = clock.GetUtcNow();
            var made = new WorkspaceRow(ticketId, agent, repository, branch, work, gitDir, baseSha, null, HivePaths.BytesUnder(work), now, now, null);
            await changes.RunAsync(scopes, (change, _) =>
            {
                change.Execute($"""
                    INSERT INTO ticket_workspaces ({Columns})
                    VALUES (@TicketId, @Agent, @Repository, @Branch, @HostPath, @GitDir, @BaseSha, @HeadSha, @Bytes, @CreatedAt, @MeasuredAt, NULL)
                    ON CONFLICT (ticket_id) DO UPDATE SET agent = excluded.agent, repository = excluded.repository,
                        branch = excluded.branch, host_path = excluded.host_path, git_dir = excluded.git_dir, base_sha = excluded.base_sha,
                        head_sha = NULL, bytes = excluded.bytes, created_at = excluded.created_at, measured_at = excluded.measured_at,
                        removed_at = NULL
                    """, made);
                return Task.CompletedTask;
            }, CancellationToken.None);
            logger.LogInformation("work: ticket {Ticket}'s workspace ({Repository}, {Branch}) is in {Agent}'s {Path}", ticketId, repository, branch, agent, InsidePath);
            return made.View();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Pushes the ticket's branch (what <c>refs/heads/ticket/…</c> holds in the clone: what the agent committed on it, not
    /// another branch it may have checked out) to the forge as the assignee's own forge user (its token), not forced: a
    /// branch someone moved on the forge meanwhile refuses the push. The bytes are measured again.
    /// </summary>
    /// <returns>The pushed head; null when the branch has no commit beyond where it started (nothing is pushed then).</returns>
    /// <exception cref="NotFoundException">The ticket has no live workspace.</exception>
    /// <exception cref="ConflictException">The push failed (the forge's or git's first line), or the agent has no forge token.</exception>
    public async Task<string?> PushAsync(long ticketId, CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            var row = Find(ticketId) is { RemovedAt: null } live ? live : throw new NotFoundException($"ticket {ticketId} has no workspace");
            var bare = BareOf(row.Repository);
            Scrub(row.Repository);
            var head = await RevParseAsync(bare, $"refs/heads/{row.Branch}", ct);
            string? pushed = null;
            if (head is not null && head != row.BaseSha)
            {
                var push = await SendAsync(new ForgeGit.Command(row.Agent, row.Repository, bare,
                    ["push", "--porcelain", ForgeGit.Remote, $"refs/heads/{row.Branch}:refs/heads/{row.Branch}"]), ct);
                if (!push.Succeeded)
                    throw new ConflictException($"pushing {row.Branch} to {row.Repository} as {row.Agent} failed: {WorkspaceDisk.FirstLine(Rejection(push))}");
                pushed = head;
            }
            var bytes = HivePaths.BytesUnder(row.HostPath);
            await changes.RunAsync(scopes, (change, _) =>
            {
                change.Execute("""
                    UPDATE ticket_workspaces SET head_sha = coalesce(@pushed, head_sha), bytes = @bytes, measured_at = @now WHERE ticket_id = @ticketId
                    """, new { ticketId, pushed, bytes, now = clock.GetUtcNow() });
                return Task.CompletedTask;
            }, CancellationToken.None);
            if (pushed is not null) logger.LogInformation("work: pushed {Branch} {Commit} to {Repository} as {Agent}", row.Branch, pushed[..12], row.Repository, row.Agent);
            return pushed;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Whether the forge's <paramref name="repository"/> has <paramref name="branch"/> (asked as <c>core</c>).</summary>
    /// <exception cref="BadRequestException">A malformed repository or branch.</exception>
    /// <exception cref="ConflictException">The forge is off or could not be asked.</exception>
    public async Task<bool> BranchExistsAsync(string repository, string branch, CancellationToken ct)
    {
        Check(repository, branch);
        HivePaths.EnsurePrivateDirectory(paths.WorkDir);
        return (await ForgeHeadAsync(repository, branch, paths.WorkDir, ct)) is not null;
    }

    /// <summary>
    /// Whether <paramref name="sha"/> (a full id or an abbreviation) is on the forge's <paramref name="branch"/>: its head or
    /// one of its ancestors. The branch is fetched into the repository's clone (made if need be) to look.
    /// </summary>
    /// <exception cref="BadRequestException">A malformed repository, branch or commit id.</exception>
    /// <exception cref="ConflictException">The forge is off or could not be asked.</exception>
    public async Task<bool> CommitExistsAsync(string repository, string branch, string sha, CancellationToken ct)
    {
        Check(repository, branch);
        if (!WorkspaceNames.IsSha(sha)) throw new BadRequestException($"{sha} is not a commit id");
        await _lock.WaitAsync(ct);
        try
        {
            var owner = await SendAsync(new ReadAgentOwner.Query(ForgeGit.CoreUser), ct);
            var bare = await CloneAsync(repository, owner.Gid, ct);
            var head = await ForgeHeadAsync(repository, branch, bare, ct);
            if (head is null) return false;
            var tracking = $"refs/remotes/{ForgeGit.Remote}/{branch}";
            await ForgeAsync(repository, bare, ["fetch", "--quiet", "--no-tags", ForgeGit.Remote, $"+refs/heads/{branch}:{tracking}"], ct);
            await GroupAsync(bare, StoreOf(repository), owner.Gid, ct);
            var commit = await RevParseAsync(bare, sha.ToLowerInvariant() + "^{commit}", ct);
            if (commit is null) return false;
            var ancestor = await RunGitAsync(bare, ["merge-base", "--is-ancestor", commit, tracking], ct);
            return ancestor.ExitCode == 0;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Removes the ticket's worktree: its files (the agent's work dir stays, empty: a running sandbox binds it) and git's
    /// record of it. The branch stays, in the clone and on the forge. The row stays too, with the bytes removed and when.
    /// Nothing to do for a ticket without a live workspace.
    /// </summary>
    public async Task RemoveAsync(long ticketId, CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            if (Find(ticketId) is { RemovedAt: null } row) await RemoveLockedAsync(row, ct);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The workspace of a ticket, live or removed; null when it never had one.</summary>
    public WorkspaceView? Get(long ticketId) => Find(ticketId)?.View();

    /// <summary>
    /// At start-up: a live workspace whose worktree is gone (or is no longer the ticket's), or whose ticket is done or gone,
    /// is removed; each clone forgets worktrees that are no longer there.
    /// </summary>
    public async Task ReconcileAsync(CancellationToken ct)
    {
        List<long> live;
        using (var connection = db.Open())
            live = connection.Query<long>("SELECT ticket_id FROM ticket_workspaces WHERE removed_at IS NULL").AsList();
        foreach (var ticketId in live)
        {
            await _lock.WaitAsync(ct);
            try
            {
                // Judged under the lock: a claim may have made it again meanwhile.
                if (Find(ticketId) is not { RemovedAt: null } row) continue;
                (string Workflow, string Phase)? ticket;
                using (var connection = db.Open())
                    ticket = connection.QuerySingleOrDefault<(string, string)?>("SELECT workflow, phase FROM tickets WHERE id = @ticketId", new { ticketId });
                var done = ticket is { } t && catalog.IsTerminal(t.Workflow, t.Phase);
                if (ticket is not null && !done && Intact(row)) continue;
                logger.LogInformation("work: ticket {Ticket}'s workspace is removed at start-up ({Why})", ticketId,
                    ticket is null ? "the ticket is gone" : done ? "the ticket is done" : "its worktree is gone");
                await RemoveLockedAsync(row, ct);
            }
            finally
            {
                _lock.Release();
            }
        }
        if (!Directory.Exists(paths.WorkReposDir)) return;
        foreach (var owner in Directory.EnumerateDirectories(paths.WorkReposDir))
            foreach (var bare in Directory.EnumerateDirectories(owner, "*.git"))
            {
                await _lock.WaitAsync(ct);
                try
                {
                    await RunGitAsync(bare, ["worktree", "prune"], ct);
                }
                finally
                {
                    _lock.Release();
                }
            }
    }

    private async Task RemoveLockedAsync(WorkspaceRow row, CancellationToken ct)
    {
        var bytes = HivePaths.BytesUnder(row.HostPath);
        var bare = BareOf(row.Repository);
        var owner = await SendAsync(new ReadAgentOwner.Query(row.Agent), ct);
        if (Directory.Exists(row.HostPath))
        {
            if (owner.Gid is not null) await WorkspaceDisk.ChownAsync(row.HostPath, 0, 0, OpenDir, ct); // the agent cannot add to it meanwhile
            await WorkspaceDisk.EmptyAsync(row.HostPath, ct);
        }
        var record = Path.Combine(bare, "worktrees", row.GitDir);
        if (Directory.Exists(record)) await WorkspaceDisk.RunAsync("/bin/rm", ["-rf", "--one-file-system", "--", record], ct);
        if (Directory.Exists(bare)) await RunGitAsync(bare, ["worktree", "prune"], ct);
        await changes.RunAsync(scopes, (change, _) =>
        {
            change.Execute("UPDATE ticket_workspaces SET bytes = @bytes, measured_at = @now, removed_at = @now WHERE ticket_id = @TicketId",
                new { row.TicketId, bytes, now = clock.GetUtcNow() });
            return Task.CompletedTask;
        }, CancellationToken.None);
        logger.LogInformation("work: ticket {Ticket}'s workspace in {Agent}'s {Path} is removed ({Bytes} bytes)", row.TicketId, row.Agent, InsidePath, bytes);
    }

    /// <summary>Whether the agent's work dir still holds this ticket's worktree: its <c>.git</c> names the row's git dir, which is there.</summary>
    private bool Intact(WorkspaceRow row) =>
        GitDirOf(row.HostPath, BareOf(row.Repository)) == row.GitDir && Directory.Exists(Path.Combine(BareOf(row.Repository), "worktrees", row.GitDir));

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

    /// <summary>
    /// The repository's bare clone, made if missing (in a temp dir renamed into place, so a crash leaves no half clone under
    /// the name) and fetched from the forge as <c>core</c> either way. What an agent's git writes in it (<c>objects</c>,
    /// <c>refs</c>, <c>logs</c>, <c>worktrees</c>) are links into the store (<see cref="HivePaths.WorkStoreDir"/>), which
    /// sandboxes bind read-write; the clone itself (its <c>config</c>, hooks, <c>HEAD</c>, <c>packed-refs</c>) they bind
    /// read-only, so no agent can make the host's git, or another agent's, run anything.
    /// </summary>
    private async Task<string> CloneAsync(string repository, uint? gid, CancellationToken ct)
    {
        var bare = BareOf(repository);
        var store = StoreOf(repository);
        if (!Directory.Exists(bare))
        {
            foreach (var dir in new[] { paths.WorkReposDir, paths.WorkStoreDir })
            {
                HivePaths.EnsurePrivateDirectory(paths.WorkDir);
                Directory.CreateDirectory(Path.Combine(dir, repository.Split('/')[0]), HivePaths.PrivateDir);
                if (gid is not null)
                {
                    await WorkspaceDisk.ChownAsync(dir, 0, gid.Value, GroupDir, ct);
                    await WorkspaceDisk.ChownAsync(Path.Combine(dir, repository.Split('/')[0]), 0, gid.Value, GroupDir, ct);
                }
            }
            if (Directory.Exists(store)) await WorkspaceDisk.RunAsync("/bin/rm", ["-rf", "--one-file-system", "--", store], ct); // a crash's leftover
            var temp = Path.Combine(Path.GetDirectoryName(bare)!, $".{Path.GetFileName(bare)}.{Guid.NewGuid():N}");
            try
            {
                await GitAsync(Path.GetDirectoryName(bare)!, ["init", "--quiet", "--bare", temp], ct);
                // group: what git writes is the agents' group's too; no automatic gc or maintenance (an agent's git must not
                // repack or rewrite what the host owns).
                foreach (var (key, value) in new[] { ("core.sharedRepository", "group"), ("gc.auto", "0"), ("maintenance.auto", "false"), ("core.logAllRefUpdates", "false") })
                    await GitAsync(temp, ["config", key, value], ct);
                Directory.CreateDirectory(store, HivePaths.PrivateDir);
                foreach (var part in StoreParts)
                {
                    if (Directory.Exists(Path.Combine(temp, part))) Directory.Move(Path.Combine(temp, part), Path.Combine(store, part));
                    else Directory.CreateDirectory(Path.Combine(store, part));
                    File.CreateSymbolicLink(Path.Combine(temp, part), Path.Combine(store, part));
                }
                await ForgeAsync(repository, temp, ["fetch", "--quiet", "--no-tags", ForgeGit.Remote], ct);
                Directory.Move(temp, bare);
            }
            finally
            {
                if (Directory.Exists(temp)) await WorkspaceDisk.RunAsync("/bin/rm", ["-rf", "--one-file-system", "--", temp], CancellationToken.None);
            }
        }
        else
        {
            Scrub(repository);
            await ForgeAsync(repository, bare, ["fetch", "--quiet", "--no-tags", "--prune", ForgeGit.Remote], ct);
        }
        await GroupAsync(bare, store, gid, ct);
        return bare;
    }

    /// <summary>
    /// Forgets alternates an agent may have named (on a host that is not root every agent is the host's user, and the store
    /// is writable in its sandbox): the host's git would read objects from wherever they point and could push them.
    /// Done before each of the host's git runs in a clone; on a root host agents cannot write there at all.
    /// </summary>
    private void Scrub(string repository)
    {
        foreach (var name in new[] { "alternates", "http-alternates" })
        {
            var file = Path.Combine(StoreOf(repository), "objects", "info", name);
            if (File.Exists(file) || new FileInfo(file).LinkTarget is not null)
            {
                logger.LogWarning("work: removed objects/info/{Name} from {Repository}'s clone (the hive never makes one)", name, repository);
                File.Delete(file);
            }
        }
    }

    /// <summary>The parts of a clone an agent's git writes, kept in the store.</summary>
    private static readonly string[] StoreParts = ["objects", "refs", "logs", "worktrees"];

    /// <summary>
    /// On a root host: the store's <c>objects</c>, <c>refs</c> and <c>logs</c> are the agents' group's to write (an agent's
    /// commit adds objects and moves its branch); the clone, <c>worktrees/</c> and <c>objects/info</c> (where alternates
    /// would be named) stay the host's, which the group may read (each worktree's record is its agent's own), and
    /// <c>objects</c> is sticky, so no agent can replace <c>objects/info</c> either.
    /// </summary>
    private static async Task GroupAsync(string bare, string store, uint? gid, CancellationToken ct)
    {
        if (gid is not { } group) return;
        await WorkspaceDisk.RunAsync("/bin/sh", ["-c", """
            chown -R -P -h 0:"$3" -- "$1" && chmod -R g-w,o-rwx -- "$1" && chmod g+rx -- "$1" || exit 1
            cd "$2" || exit 1
            chown -h 0:"$3" . worktrees && chmod 0750 . worktrees || exit 1
            chgrp -R -P -h "$3" -- objects refs logs && chmod -R g+rwX,o-rwx -- objects refs logs || exit 1
            find objects refs logs -type d -exec chmod g+s {} +
            mkdir -p objects/info && chown -R -P -h 0:"$3" objects/info && chmod -R g-w objects/info && chmod +t objects || exit 1
            """, "hive-workspace-group", bare, store, group.ToString()], ct);
    }

    /// <summary>The forge's default branch (what its HEAD names), as the clone knows it after a fetch.</summary>
    private async Task<string> DefaultBranchAsync(string repository, string bare, CancellationToken ct)
    {
        var head = await ForgeAsync(repository, bare, ["ls-remote", "--symref", ForgeGit.Remote, "HEAD"], ct);
        foreach (var line in head.Split('\n'))
            if (line.StartsWith("ref: refs/heads/", StringComparison.Ordinal) && line.EndsWith("\tHEAD", StringComparison.Ordinal))
            {
                var branch = line["ref: refs/heads/".Length..^"\tHEAD".Length];
                if (WorkspaceNames.IsBranch(branch) && await RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{branch}", ct) is not null) return branch;
            }
        throw new ConflictException($"{repository} on the forge has no commits yet: push a first commit to its default branch");
    }

    /// <summary>The head of the forge's <paramref name="branch"/>, or null when it has none.</summary>
    private async Task<string?> ForgeHeadAsync(string repository, string branch, string directory, CancellationToken ct)
    {
        var heads = await ForgeAsync(repository, directory, ["ls-remote", ForgeGit.Remote, $"refs/heads/{branch}"], ct);
        var line = heads.Split('\n').FirstOrDefault(l => l.EndsWith($"\trefs/heads/{branch}", StringComparison.Ordinal));
        return line?.Split('\t')[0];
    }

    /// <summary>git against the forge as <c>core</c>; its output, or a <see cref="ConflictException"/> with its first line.</summary>
    private async Task<string> ForgeAsync(string repository, string directory, string[] args, CancellationToken ct)
    {
        var git = await SendAsync(new ForgeGit.Command(ForgeGit.CoreUser, repository, directory, args), ct);
        return git.Succeeded ? git.Stdout : throw new ConflictException($"git {args[0]} of {repository} from the forge failed: {WorkspaceDisk.FirstLine(git.Stderr)}");
    }

    private static string Rejection(ForgeGit.Result push) =>
        push.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith('!')) is { } refused ? refused.TrimStart('!').Trim() : push.Stderr;

    private async Task<string?> RevParseAsync(string bare, string rev, CancellationToken ct)
    {
        var git = await RunGitAsync(bare, ["rev-parse", "--verify", "--quiet", rev], ct);
        return git.ExitCode == 0 && git.Stdout.Trim() is { Length: > 0 } sha ? sha : null;
    }

    private async Task<string> GitAsync(string directory, string[] args, CancellationToken ct, bool allowFailure = false)
    {
        var git = await RunGitAsync(directory, args, ct);
        if (git.ExitCode != 0 && !allowFailure)
            throw new ConflictException($"git {args[0]} {(args.Length > 1 ? args[1] : "")} failed: {WorkspaceDisk.FirstLine(git.TimedOut ? "it did not finish in time" : git.Stderr)}");
        return git.ExitCode == 0 ? git.Stdout : "";
    }

    /// <summary>
    /// git on the host's side only (never the forge): no system or user configuration, no prompts, no hooks, run in the clone
    /// (the host's own dir), never inside a worktree, whose files are the agent's.
    /// </summary>
    private Task<ChildResult> RunGitAsync(string directory, string[] args, CancellationToken ct) =>
        ChildProcess.RunAsync(new ChildCommand("git", args)
        {
            WorkingDirectory = directory,
            Timeout = TimeSpan.FromMinutes(10),
            Environment = new Dictionary<string, string>
            {
                ["HOME"] = paths.DataDir, ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_CONFIG_GLOBAL"] = "/dev/null", ["GIT_TERMINAL_PROMPT"] = "0",
                ["GIT_CONFIG_COUNT"] = "1", ["GIT_CONFIG_KEY_0"] = "core.hooksPath", ["GIT_CONFIG_VALUE_0"] = "/dev/null",
            },
        }, ct);

    private async Task<T> SendAsync<T>(IRequest<T> request, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request, ct);
    }

    private WorkspaceRow? Find(long ticketId)
    {
        using var connection = db.Open();
        return connection.QuerySingleOrDefault<WorkspaceRow>($"SELECT {Columns} FROM ticket_workspaces WHERE ticket_id = @ticketId", new { ticketId });
    }

    private string BareOf(string repository) => Path.Combine(paths.WorkReposDir, repository + ".git");

    private string StoreOf(string repository) => Path.Combine(paths.WorkStoreDir, repository + ".git");

    private static void Check(string repository, string branch)
    {
        if (!ForgeGit.IsRepository(repository)) throw new BadRequestException($"{repository} is not a repository's owner/name");
        if (!WorkspaceNames.IsBranch(branch)) throw new BadRequestException($"{branch} is not a branch name");
    }

    private const UnixFileMode OpenDir = HivePaths.PrivateDir | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode GroupDir = HivePaths.PrivateDir | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;
}

/// <summary>A <c>ticket_workspaces</c> row.</summary>
internal sealed record WorkspaceRow(
    long TicketId, string Agent, string Repository, string Branch, string HostPath, string GitDir, string BaseSha, string? HeadSha, long Bytes,
    DateTimeOffset CreatedAt, DateTimeOffset MeasuredAt, DateTimeOffset? RemovedAt)
{
    public WorkspaceView View() =>
        new(TicketId, Agent, Repository, Branch, TicketWorkspaces.InsidePath, HostPath, Bytes, CreatedAt, MeasuredAt, BaseSha, HeadSha, RemovedAt);
}
