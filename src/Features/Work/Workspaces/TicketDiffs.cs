using Hive.Contracts.Work;
using Hive.Features.Forge;
using Hive.Shared.Errors;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// A ticket's branch as review reads it, from the ticket's clone (what its agent committed, pushed or not): its head, the
/// files changed since its base (status, lines added and removed) and the unified patch. Only git's own diff runs: no
/// external diff, no textconv (the clone's config is the host's).
/// </summary>
internal sealed class TicketDiffs(WorkspaceRows rows, RepositoryClones clones, WorkspaceGit git)
{
    private static readonly string[] Plain = ["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M"];

    /// <summary>The ticket's whole diff, with the workspace row it came from (its owner).</summary>
    /// <exception cref="NotFoundException">The ticket never had a branch.</exception>
    /// <exception cref="ConflictException">Its clone or its branch is gone.</exception>
    public async Task<TicketDiff> ReadAsync(long ticketId, CancellationToken ct)
    {
        var (row, bare, head) = await HeadAsync(ticketId, ct);
        var range = new[] { row.BaseSha, head, "--" };
        var statuses = await git.GitAsync(bare, [.. Plain, "--name-status", "-z", .. range], ct);
        var counts = await git.GitAsync(bare, [.. Plain, "--numstat", "-z", .. range], ct);
        var patch = await git.GitAsync(bare, [.. Plain, .. range], ct);
        return new TicketDiff(ticketId, row.Repository, row.Branch, row.BaseSha, head, Files(statuses, counts), patch, false);
    }

    /// <summary>The paths the ticket's branch changes since its base (a rename's new path), in git's order.</summary>
    /// <exception cref="NotFoundException">The ticket never had a branch.</exception>
    /// <exception cref="ConflictException">Its clone or its branch is gone.</exception>
    public async Task<IReadOnlyList<string>> NamesAsync(long ticketId, CancellationToken ct)
    {
        var (row, bare, head) = await HeadAsync(ticketId, ct);
        var names = await git.GitAsync(bare, [.. Plain, "--name-only", "-z", row.BaseSha, head, "--"], ct);
        return names.Split('\0', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The ticket's workspace row, its clone, and its branch's head there.</summary>
    public async Task<(WorkspaceRow Row, string Bare, string Head)> HeadAsync(long ticketId, CancellationToken ct)
    {
        var row = rows.Find(ticketId) ?? throw new NotFoundException($"ticket {ticketId} has no branch: it never had a workspace");
        var bare = clones.BareOf(row.Repository);
        if (!Directory.Exists(bare)) throw new ConflictException($"ticket {ticketId}'s clone of {row.Repository} is gone");
        var head = await git.RevParseAsync(bare, $"refs/heads/{row.Branch}", ct)
            ?? await git.RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{row.Branch}", ct)
            ?? throw new ConflictException($"ticket {ticketId}'s branch {row.Branch} is not in its clone");
        return (row, bare, head);
    }

    /// <summary>The patch of one file between two commits of a clone, without context lines (what changed there, and where); empty when git cannot say.</summary>
    public Task<string> ChangesAsync(string bare, string from, string to, string path, CancellationToken ct) =>
        git.GitAsync(bare, [.. Plain, "-U0", from, to, "--", path], ct, allowFailure: true);

    /// <summary>Whether <paramref name="sha"/> names a commit on the branch whose head is <paramref name="head"/>.</summary>
    public async Task<string?> CommitOnAsync(string bare, string sha, string head, CancellationToken ct)
    {
        var full = await git.RevParseAsync(bare, sha + "^{commit}", ct);
        if (full is null) return null;
        var result = await git.RunAsync(bare, ["merge-base", "--is-ancestor", full, head], ct);
        return result.ExitCode == 0 ? full : null;
    }

    /// <summary>The files from <c>--name-status -z</c> (status, then one path or, renamed, two) with <c>--numstat -z</c>'s counts.</summary>
    private static List<DiffFile> Files(string statuses, string counts)
    {
        var byPath = new Dictionary<string, (int? Added, int? Removed)>(StringComparer.Ordinal);
        var numbers = counts.Split('\0');
        for (var i = 0; i < numbers.Length; i++)
        {
            var fields = numbers[i].Split('\t');
            if (fields.Length < 3) continue;
            // A rename's line is "added\tremoved\t" and its two paths follow as fields of their own.
            var path = fields[2].Length > 0 ? fields[2] : i + 2 < numbers.Length ? numbers[i += 2] : "";
            byPath[path] = (int.TryParse(fields[0], out var a) ? a : null, int.TryParse(fields[1], out var r) ? r : null);
        }
        var files = new List<DiffFile>();
        var parts = statuses.Split('\0');
        for (var i = 0; i + 1 < parts.Length; i++)
        {
            var status = parts[i];
            if (status.Length == 0) continue;
            string? old = null;
            if (status[0] is 'R' or 'C' && i + 2 < parts.Length) old = parts[++i];
            var path = parts[++i];
            var (added, removed) = byPath.GetValueOrDefault(path);
            files.Add(new DiffFile(path, old, status[..1], added, removed));
        }
        return files;
    }
}
