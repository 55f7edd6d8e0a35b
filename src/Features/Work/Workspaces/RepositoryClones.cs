using Hive.Features.Forge;
using Hive.Shared;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// One bare clone per repository, shared by its tickets, at <c>&lt;DataDir&gt;/work/repos/&lt;owner&gt;/&lt;name&gt;.git</c>
/// (a plain repository's name: <see cref="WorkRepository.CloneName"/>), fetched from it (the remote <c>forge</c> of each
/// run only, <see cref="WorkspaceGit.RemoteAsync"/>, so no address or credential is written into it). A worktree's <c>.git</c> file names its git dir by an absolute host path, so
/// sandboxes bind <c>work/repos</c> (read-only) and <c>work/store</c> (read-write) at their host paths: a clone's
/// <c>objects</c>, <c>refs</c>, <c>logs</c> and <c>worktrees</c> are links into the store, so an agent's git writes those
/// and nothing else (a clone's <c>config</c> could make any git that opens it run a command: the host's fetch, or another
/// agent's commit). Callers hold the workspaces' lock.
/// </summary>
internal sealed class RepositoryClones(HivePaths paths, WorkspaceGit git, ILogger<RepositoryClones> logger)
{
    /// <summary>The parts of a clone an agent's git writes, kept in the store.</summary>
    private static readonly string[] StoreParts = ["objects", "refs", "logs", "worktrees"];

    /// <summary>The clone of the repository at <paramref name="address"/> (a workspace row's <c>repository</c>).</summary>
    public string BareOf(string address) => Path.Combine(paths.WorkReposDir, WorkRepository.CloneName(address) + ".git");

    public string StoreOf(string address) => Path.Combine(paths.WorkStoreDir, WorkRepository.CloneName(address) + ".git");

    /// <summary>Every clone there is.</summary>
    public IEnumerable<string> All() =>
        Directory.Exists(paths.WorkReposDir)
            ? Directory.EnumerateDirectories(paths.WorkReposDir).SelectMany(owner => Directory.EnumerateDirectories(owner, "*.git"))
            : [];

    /// <summary>
    /// The repository's bare clone, made if missing (in a temp dir renamed into place, so a crash leaves no half clone under
    /// the name) and fetched from the repository either way. What an agent's git writes in it (<c>objects</c>,
    /// <c>refs</c>, <c>logs</c>, <c>worktrees</c>) are links into the store (<see cref="HivePaths.WorkStoreDir"/>), which
    /// sandboxes bind read-write; the clone itself (its <c>config</c>, hooks, <c>HEAD</c>, <c>packed-refs</c>) they bind
    /// read-only, so no agent can make the host's git, or another agent's, run anything.
    /// </summary>
    public async Task<string> CloneAsync(WorkRepository repository, uint? gid, CancellationToken ct)
    {
        var bare = BareOf(repository.Address);
        var store = StoreOf(repository.Address);
        var owner = WorkRepository.CloneName(repository.Address).Split('/')[0];
        if (!Directory.Exists(bare))
        {
            foreach (var dir in new[] { paths.WorkReposDir, paths.WorkStoreDir })
            {
                HivePaths.EnsurePrivateDirectory(paths.WorkDir);
                Directory.CreateDirectory(Path.Combine(dir, owner), HivePaths.PrivateDir);
                if (gid is not null)
                {
                    await WorkspaceDisk.ChownAsync(dir, 0, gid.Value, WorkspaceDisk.GroupDir, ct);
                    await WorkspaceDisk.ChownAsync(Path.Combine(dir, owner), 0, gid.Value, WorkspaceDisk.GroupDir, ct);
                }
            }
            if (Directory.Exists(store)) await WorkspaceDisk.RunAsync("/bin/rm", ["-rf", "--one-file-system", "--", store], ct); // a crash's leftover
            var temp = Path.Combine(Path.GetDirectoryName(bare)!, $".{Path.GetFileName(bare)}.{Guid.NewGuid():N}");
            try
            {
                await git.GitAsync(Path.GetDirectoryName(bare)!, ["init", "--quiet", "--bare", temp], ct);
                // group: what git writes is the agents' group's too; no automatic gc or maintenance (an agent's git must not
                // repack or rewrite what the host owns).
                foreach (var (key, value) in new[] { ("core.sharedRepository", "group"), ("gc.auto", "0"), ("maintenance.auto", "false"), ("core.logAllRefUpdates", "false") })
                    await git.GitAsync(temp, ["config", key, value], ct);
                Directory.CreateDirectory(store, HivePaths.PrivateDir);
                foreach (var part in StoreParts)
                {
                    if (Directory.Exists(Path.Combine(temp, part))) Directory.Move(Path.Combine(temp, part), Path.Combine(store, part));
                    else Directory.CreateDirectory(Path.Combine(store, part));
                    File.CreateSymbolicLink(Path.Combine(temp, part), Path.Combine(store, part));
                }
                await git.RemoteAsync(repository, temp, ["fetch", "--quiet", "--no-tags", ForgeGit.Remote], ct);
                Directory.Move(temp, bare);
            }
            finally
            {
                if (Directory.Exists(temp)) await WorkspaceDisk.RunAsync("/bin/rm", ["-rf", "--one-file-system", "--", temp], CancellationToken.None);
            }
        }
        else
        {
            Scrub(repository.Address);
            await git.RemoteAsync(repository, bare, ["fetch", "--quiet", "--no-tags", "--prune", ForgeGit.Remote], ct);
        }
        await GroupAsync(repository.Address, gid, ct);
        return bare;
    }

    /// <summary>
    /// Forgets alternates an agent may have named (on a host that is not root every agent is the host's user, and the store
    /// is writable in its sandbox): the host's git would read objects from wherever they point and could push them.
    /// Done before each of the host's git runs in a clone; on a root host agents cannot write there at all.
    /// </summary>
    public void Scrub(string address)
    {
        foreach (var name in new[] { "alternates", "http-alternates" })
        {
            var file = Path.Combine(StoreOf(address), "objects", "info", name);
            if (File.Exists(file) || new FileInfo(file).LinkTarget is not null)
            {
                logger.LogWarning("work: removed objects/info/{Name} from {Repository}'s clone (the hive never makes one)", name, address);
                File.Delete(file);
            }
        }
    }

    /// <summary>
    /// On a root host: the store's <c>objects</c>, <c>refs</c> and <c>logs</c> are the agents' group's to write (an agent's
    /// commit adds objects and moves its branch); the clone, <c>worktrees/</c> and <c>objects/info</c> (where alternates
    /// would be named) stay the host's, which the group may read (each worktree's record is its agent's own), and
    /// <c>objects</c> is sticky, so no agent can replace <c>objects/info</c> either.
    /// </summary>
    public async Task GroupAsync(string address, uint? gid, CancellationToken ct)
    {
        if (gid is not { } group) return;
        await WorkspaceDisk.RunAsync("/bin/sh", ["-c", """
            chown -R -P -h 0:"$3" -- "$1" && chmod -R g-w,o-rwx -- "$1" && chmod g+rx -- "$1" || exit 1
            cd "$2" || exit 1
            chown -h 0:"$3" . worktrees && chmod 0750 . worktrees || exit 1
            chgrp -R -P -h "$3" -- objects refs logs && chmod -R g+rwX,o-rwx -- objects refs logs || exit 1
            find objects refs logs -type d -exec chmod g+s {} +
            mkdir -p objects/info && chown -R -P -h 0:"$3" objects/info && chmod -R g-w objects/info && chmod +t objects || exit 1
            """, "hive-workspace-group", BareOf(address), StoreOf(address), group.ToString()], ct);
    }
}
