using System.Text.RegularExpressions;

namespace Hive.Tests.Architecture;

/// <summary>
/// Comments say why, not which issue asked: no comment in src/, tests/ or bench/ (.cs, .js, .sh; build output left out)
/// cites an issue number (the word issue and a number, or # and two digits or more). A decision worth citing is an ADR in docs/adr/. Only comments are
/// read: a message id shown in a string or a <c>&lt;c&gt;</c> example (<c>&lt;c&gt;#12 alice</c>) is not a citation.
/// </summary>
public sealed partial class IssueNumberCommentTests
{
    private static readonly string[] Folders = ["src", "tests", "bench"];
    private static readonly string[] Extensions = [".cs", ".js", ".sh"];

    [Fact]
    public void No_comment_cites_an_issue_number()
    {
        var root = HiveSources.RepoRoot();
        var offending = Folders
            .SelectMany(folder => Extensions.SelectMany(ext => Directory.GetFiles(Path.Combine(root, folder), "*" + ext, SearchOption.AllDirectories)))
            .Where(f => !IsBuildOutput(f))
            .Order(StringComparer.Ordinal)
            .SelectMany(f => Citations(Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllLines(f)))
            .ToList();
        Assert.True(offending.Count == 0, "comments citing an issue number (say why instead; cite an ADR if one applies):"
            + Environment.NewLine + string.Join(Environment.NewLine, offending));
    }

    [Fact]
    public void Finds_issue_numbers_in_comments_only()
    {
        // N stands for the number, so this file does not cite one itself.
        var lines = new[]
        {
            "// drop the cache (issue N)",
            "    /// <summary>Issue N item 4: bounded.</summary>",
            " * shared commits (#N)",
            "var x = 1; // see #N",
            "# a shell comment, issue N",
            "Print(\"benchmark (issue N)\");",
            "/// <summary>A message as one line: <c>#N alice → bob</c>.</summary>",
            "// colour #fff, anchor #top, C#N",
        }.Select(l => l.Replace("N", "43", StringComparison.Ordinal)).ToList();

        Assert.Equal(["a.cs:1", "a.cs:2", "a.cs:3", "a.cs:4", "a.cs:5"], Citations("a.cs", lines).Select(c => c[..c.IndexOf(' ')]));
    }

    private static bool IsBuildOutput(string path) =>
        path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || path.Contains($"{Path.DirectorySeparatorChar}node_modules{Path.DirectorySeparatorChar}", StringComparison.Ordinal);

    /// <summary>"path:line text" for each line whose comment cites an issue number.</summary>
    private static IEnumerable<string> Citations(string path, IReadOnlyList<string> lines)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            var comment = CommentOf(lines[i]);
            if (comment is not null && (IssueWord().IsMatch(comment) || HashNumber().IsMatch(comment)))
                yield return $"{path}:{i + 1} {lines[i].Trim()}";
        }
    }

    /// <summary>The comment part of a line (after <c>//</c>, or the whole line when it opens with <c>/*</c>, <c>*</c> or a shell's <c>#</c>), or null.</summary>
    private static string? CommentOf(string line)
    {
        var trimmed = line.TrimStart();
        if (trimmed.StartsWith("/*", StringComparison.Ordinal) || trimmed.StartsWith('*') || trimmed.StartsWith('#')) return trimmed;
        var slashes = line.IndexOf("//", StringComparison.Ordinal);
        return slashes < 0 ? null : line[slashes..];
    }

    [GeneratedRegex(@"\b[Ii]ssue \d+")]
    private static partial Regex IssueWord();

    [GeneratedRegex(@"(^|[\s(])#\d{2,}\b")]
    private static partial Regex HashNumber();
}
