using System.Text.RegularExpressions;

namespace Hive.Features.Work.Reviews;

/// <summary>
/// The lines a unified patch shows, file by file and side by side: what a review comment may point at (a line the diff
/// shows, context included) and what it quotes. Files come in the patch's order, which is the order of git's file list
/// for the same diff (<see cref="Workspaces.TicketDiffs"/>), so the i-th section is the i-th file whatever its path's quoting.
/// </summary>
internal sealed partial class PatchHunks
{
    public const string New = "new";
    public const string Old = "old";

    /// <summary>One file's shown lines: number → text, on each side.</summary>
    public sealed record FileLines(Dictionary<int, string> Old, Dictionary<int, string> New)
    {
        public Dictionary<int, string> On(string side) => side == PatchHunks.Old ? Old : New;

        /// <summary>The lines <paramref name="start"/>..<paramref name="end"/> of <paramref name="side"/>, if the diff shows every one.</summary>
        public string? Quote(string side, int start, int end)
        {
            var lines = On(side);
            var quoted = new List<string>();
            for (var n = start; n <= end; n++)
                if (lines.TryGetValue(n, out var text)) quoted.Add(text);
                else return null;
            return string.Join('\n', quoted);
        }
    }

    public IReadOnlyList<FileLines> Files { get; }

    private PatchHunks(IReadOnlyList<FileLines> files) => Files = files;

    public static PatchHunks Parse(string patch)
    {
        var files = new List<FileLines>();
        FileLines? file = null;
        int oldLine = 0, newLine = 0;
        var inHunk = false;
        foreach (var line in patch.Split('\n'))
        {
            if (line.StartsWith("diff --git ", StringComparison.Ordinal))
            {
                files.Add(file = new FileLines([], []));
                inHunk = false;
                continue;
            }
            if (file is null) continue;
            if (Header().Match(line) is { Success: true } header)
            {
                oldLine = int.Parse(header.Groups[1].Value);
                newLine = int.Parse(header.Groups[3].Value);
                inHunk = true;
                continue;
            }
            if (!inHunk || line.Length == 0) continue;
            switch (line[0])
            {
                case ' ':
                    file.Old[oldLine++] = line[1..];
                    file.New[newLine++] = line[1..];
                    break;
                case '-':
                    file.Old[oldLine++] = line[1..];
                    break;
                case '+':
                    file.New[newLine++] = line[1..];
                    break;
            }
        }
        return new PatchHunks(files);
    }

    /// <summary>
    /// A hunk header's old side: its first line and count (a count of 0 is an insertion after that line); false for any
    /// other line. The one reading of <c>@@ -a,b +c,d @@</c> (the radar's too).
    /// </summary>
    public static bool TryOldRange(string line, out int start, out int count)
    {
        var header = Header().Match(line);
        start = header.Success ? int.Parse(header.Groups[1].Value) : 0;
        count = header.Success ? header.Groups[2].Success ? int.Parse(header.Groups[2].Value) : 1 : 0;
        return header.Success;
    }

    /// <summary>Whether a <c>-U0</c> patch of a file changed any of its old lines <paramref name="start"/>..<paramref name="end"/>, or inserted between them.</summary>
    public static bool Touches(string patch, int start, int end) => patch.Split('\n').Any(line =>
        TryOldRange(line, out var first, out var count)
        && (count == 0 ? first >= start && first < end : first <= end && first + count - 1 >= start));

    [GeneratedRegex(@"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")]
    private static partial Regex Header();
}
