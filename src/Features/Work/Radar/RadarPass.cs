using Hive.Contracts.Work;

namespace Hive.Features.Work.Radar;

/// <summary>What one active ticket's branch changes against its base: each file, and the base's lines each hunk replaces.</summary>
/// <param name="Files">Path → the base's line ranges its hunks change (an insertion is the line it follows, as a range of one).</param>
internal sealed record TicketChanges(long TicketId, string Owner, string Repository, IReadOnlyDictionary<string, IReadOnlyList<(int First, int Last)>> Files);

/// <summary>A risk the radar finds between tickets <paramref name="A"/> &lt; <paramref name="B"/>.</summary>
internal sealed record FoundRisk(long A, long B, string Level, string Reason, IReadOnlyList<string> Files);

/// <summary>
/// The radar's rule, pure: two tickets of one repository are a danger when a file both change has hunks whose base lines
/// overlap, a warning when they only change the same file, and a warning when one changes a path (or a path under a
/// directory, a resource ending in <c>/</c>) that the other's owner holds a lease on. Tickets are bucketed by file, so a
/// pass costs the pairs that share a file, not every pair.
/// </summary>
internal static class RadarPass
{
    public static List<FoundRisk> Find(IReadOnlyList<TicketChanges> tickets, IReadOnlyList<(string Holder, string Resource)> leases)
    {
        var pairs = new Dictionary<(long, long), (SortedSet<string> Files, bool Lines, bool Shared)>();
        void Add(long x, long y, string file, bool lines, bool shared)
        {
            var key = x < y ? (x, y) : (y, x);
            var (files, anyLines, anyShared) = pairs.TryGetValue(key, out var f) ? f : (new SortedSet<string>(StringComparer.Ordinal), false, false);
            files.Add(file);
            pairs[key] = (files, anyLines || lines, anyShared || shared);
        }

        foreach (var bucket in tickets.SelectMany(t => t.Files.Select(f => (Key: (t.Repository, f.Key), Ticket: t, Ranges: f.Value))).GroupBy(x => x.Key))
        {
            var touching = bucket.ToList();
            for (var i = 0; i < touching.Count; i++)
                for (var j = i + 1; j < touching.Count; j++)
                    Add(touching[i].Ticket.TicketId, touching[j].Ticket.TicketId, bucket.Key.Item2, Overlap(touching[i].Ranges, touching[j].Ranges), true);
        }

        foreach (var (holder, resource) in leases)
            foreach (var held in tickets.Where(t => t.Owner == holder))
                foreach (var other in tickets.Where(t => t.TicketId != held.TicketId && t.Repository == held.Repository))
                    foreach (var path in other.Files.Keys.Where(p => Covers(resource, p)))
                        Add(held.TicketId, other.TicketId, path, false, false);

        return pairs.Select(p => new FoundRisk(p.Key.Item1, p.Key.Item2,
                p.Value.Lines ? ConflictRisk.Danger : ConflictRisk.Warning,
                p.Value.Lines ? ConflictRisk.SameLines : p.Value.Shared ? ConflictRisk.SameFile : ConflictRisk.Lease,
                p.Value.Files.ToList()))
            .OrderBy(r => r.A).ThenBy(r => r.B).ToList();
    }

    /// <summary>Whether a lease on <paramref name="resource"/> covers <paramref name="path"/>: the path itself, or a directory above it.</summary>
    public static bool Covers(string resource, string path) =>
        resource == path || (resource.EndsWith('/') && path.StartsWith(resource, StringComparison.Ordinal));

    private static bool Overlap(IReadOnlyList<(int First, int Last)> x, IReadOnlyList<(int First, int Last)> y) =>
        x.Any(a => y.Any(b => a.First <= b.Last && b.First <= a.Last));

    /// <summary>A <c>-U0</c> patch's files and the base lines of each hunk (git's order; a path from its <c>---</c>/<c>+++</c> lines).</summary>
    public static Dictionary<string, IReadOnlyList<(int First, int Last)>> Parse(string patch)
    {
        var files = new Dictionary<string, IReadOnlyList<(int, int)>>(StringComparer.Ordinal);
        string? old = null;
        List<(int, int)>? ranges = null;
        foreach (var line in patch.Split('\n'))
        {
            if (line.StartsWith("--- ", StringComparison.Ordinal)) old = line[4..] == "/dev/null" ? null : Strip(line[4..], "a/");
            else if (line.StartsWith("+++ ", StringComparison.Ordinal))
            {
                var path = line[4..] == "/dev/null" ? old : Strip(line[4..], "b/");
                if (path is null) continue;
                files[path] = ranges = [];
                if (old is not null && old != path && !files.ContainsKey(old)) files[old] = ranges; // a rename touches both names
            }
            else if (ranges is not null && Reviews.PatchHunks.TryOldRange(line, out var first, out var count))
                ranges.Add(count == 0 ? (first, first) : (first, first + count - 1));
        }
        return files;
    }

    /// <summary>The command that diffs many branches in one git run: stdin lines <see cref="DiffTreeLine"/>, split by <see cref="SplitDiffTree"/>.</summary>
    public static readonly string[] DiffTree = ["-c", "core.quotePath=false", "diff-tree", "--stdin", "-p", "-U0", "--no-color", "--no-ext-diff", "--no-textconv"];

    /// <summary>"head base": <c>diff-tree --stdin</c> reads a commit then its parent, so this diffs base → head.</summary>
    public static string DiffTreeLine(string head, string @base) => $"{head} {@base}\n";

    /// <summary>
    /// <c>diff-tree --stdin</c>'s output cut into each asked branch's patch: a non-empty diff follows a line holding its head,
    /// in the order asked; an empty one prints nothing (its patch is empty).
    /// </summary>
    public static List<string> SplitDiffTree(string output, IReadOnlyList<string> heads)
    {
        var patches = heads.Select(_ => new System.Text.StringBuilder()).ToList();
        var at = -1;
        foreach (var line in output.Split('\n'))
        {
            if (line.Length is 40 or 64 && line.All(char.IsAsciiHexDigitLower) && FindFrom(heads, at + 1, line) is var next and >= 0)
            {
                at = next;
                continue;
            }
            if (at >= 0) patches[at].Append(line).Append('\n');
        }
        return patches.Select(p => p.ToString()).ToList();
    }

    private static int FindFrom(IReadOnlyList<string> heads, int start, string head)
    {
        for (var i = start; i < heads.Count; i++)
            if (heads[i] == head) return i;
        return -1;
    }

    private static string Strip(string path, string prefix)
    {
        if (path.StartsWith('"') && path.EndsWith('"')) path = path[1..^1];
        return path.StartsWith(prefix, StringComparison.Ordinal) ? path[prefix.Length..] : path;
    }
}
