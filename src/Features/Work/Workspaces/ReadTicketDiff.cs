using Hive.Features.Forge;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.Workspaces;

/// <summary>
/// <c>GET /api/tickets/{id}/diff</c>: a ticket's branch against the commit it started from, as review reads it: each file
/// changed (its status, lines added and removed) and the unified patch, read from the ticket's clone (what its agent
/// committed, pushed or not). Only git's own diff runs: no external diff, no textconv (the clone's config is the host's).
/// A patch over <see cref="MaxPatchBytes"/> is cut, and says so.
/// </summary>
public static class ReadTicketDiff
{
    public const int MaxPatchBytes = 1024 * 1024;

    public sealed record Query(long TicketId) : IRequest<TicketDiff>;

    /// <param name="Status">git's letter: <c>A</c>dded, <c>M</c>odified, <c>D</c>eleted, <c>R</c>enamed (then <paramref name="OldPath"/>).</param>
    /// <param name="Added">Lines added; null for a binary file.</param>
    public sealed record DiffFile(string Path, string? OldPath, string Status, int? Added, int? Removed);

    /// <param name="HeadSha">The branch's head in the clone; <paramref name="BaseSha"/> when nothing was committed yet.</param>
    public sealed record TicketDiff(long TicketId, string Repository, string Branch, string BaseSha, string HeadSha, IReadOnlyList<DiffFile> Files,
        string Patch, bool Truncated);

    internal sealed class Handler(WorkspaceRows rows, RepositoryClones clones, WorkspaceGit git) : IRequestHandler<Query, TicketDiff>
    {
        private static readonly string[] Plain = ["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M"];

        public async Task<TicketDiff> Handle(Query query, CancellationToken cancellationToken)
        {
            var row = rows.Find(query.TicketId) ?? throw new NotFoundException($"ticket {query.TicketId} has no branch: it never had a workspace");
            var bare = clones.BareOf(row.Repository);
            if (!Directory.Exists(bare)) throw new ConflictException($"ticket {query.TicketId}'s clone of {row.Repository} is gone");
            var head = await git.RevParseAsync(bare, $"refs/heads/{row.Branch}", cancellationToken)
                ?? await git.RevParseAsync(bare, $"refs/remotes/{ForgeGit.Remote}/{row.Branch}", cancellationToken)
                ?? throw new ConflictException($"ticket {query.TicketId}'s branch {row.Branch} is not in its clone");
            var range = new[] { row.BaseSha, head, "--" };
            var statuses = await git.GitAsync(bare, [.. Plain, "--name-status", "-z", .. range], cancellationToken);
            var counts = await git.GitAsync(bare, [.. Plain, "--numstat", "-z", .. range], cancellationToken);
            var patch = await git.GitAsync(bare, [.. Plain, .. range], cancellationToken);
            var truncated = System.Text.Encoding.UTF8.GetByteCount(patch) > MaxPatchBytes;
            if (truncated) patch = patch[..Math.Min(patch.Length, MaxPatchBytes)];
            return new TicketDiff(query.TicketId, row.Repository, row.Branch, row.BaseSha, head, Files(statuses, counts), patch, truncated);
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
}
