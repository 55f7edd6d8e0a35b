using System.Text.RegularExpressions;

namespace Hive.Tests.Architecture;

/// <summary>
/// The docs stay a map a new reader can follow. Every slice folder in <c>src/Features</c> has its page
/// <c>docs/architecture/slices/&lt;Slice&gt;.md</c> (and every page there a slice). Every page under <c>docs/</c>, except
/// the history in <c>docs/notes/</c>, is reachable from README.md's map in at most one step: linked from README.md itself,
/// or from a page README.md links. Every relative link in README.md, CONTRIBUTING.md, tests/README.md and docs/ points at
/// a file or folder that exists.
/// </summary>
public sealed partial class DocsMapTests
{
    private static readonly string Root = HiveSources.RepoRoot();

    [Fact]
    public void Every_slice_has_its_page_in_docs_architecture_slices()
    {
        var slices = Directory.GetDirectories(Path.Combine(Root, "src", "Features")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var pages = Directory.GetFiles(Path.Combine(Root, "docs", "architecture", "slices"), "*.md")
            .Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList();

        Assert.True(slices.Count > 0, "no slice folders found under src/Features");
        Assert.Empty(slices.Except(pages).Select(s => $"src/Features/{s} has no docs/architecture/slices/{s}.md"));
        Assert.Empty(pages.Except(slices).Select(p => $"docs/architecture/slices/{p}.md names no folder in src/Features"));
    }

    [Fact]
    public void Every_doc_page_is_reachable_from_the_readme_map_in_one_step()
    {
        var fromReadme = MarkdownLinksOf("README.md").Where(IsDocPage).ToHashSet(StringComparer.Ordinal);
        var reachable = new HashSet<string>(fromReadme, StringComparer.Ordinal);
        foreach (var page in fromReadme.Where(p => File.Exists(Path.Combine(Root, p))))
            reachable.UnionWith(MarkdownLinksOf(page).Where(IsDocPage));

        var unreachable = DocPages()
            .Where(p => !p.StartsWith("docs/notes/", StringComparison.Ordinal))
            .Where(p => !reachable.Contains(p))
            .Select(p => $"{p} is linked neither from README.md's map nor from a page the map links");
        Assert.Empty(unreachable);
    }

    [Fact]
    public void Every_relative_link_points_at_a_file_that_exists()
    {
        var sources = new[] { "README.md", "CONTRIBUTING.md", "tests/README.md" }.Concat(DocPages());
        var broken = sources
            .SelectMany(source => RelativeLinksOf(source).Select(link => (source, link)))
            .Where(l => !Exists(l.link.Target))
            .Select(l => $"{l.source}: ({l.link.Written}) points at {l.link.Target}, which does not exist");
        Assert.Empty(broken);
    }

    [Fact]
    public void Finds_links_outside_code_and_resolves_them_against_the_page()
    {
        var links = LinksIn("docs/operator/a.md", "see [b](b.md#x), [up](../../README.md), ![img](../screenshots/s.png), `[no](code.md)`,\n"
            + "[web](https://example.org), [here](#top)\n```\n[not](fenced.md)\n```\n");

        Assert.Equal(["docs/operator/b.md", "README.md", "docs/screenshots/s.png"], links.Select(l => l.Target));
    }

    private static bool IsDocPage(string path) => path.StartsWith("docs/", StringComparison.Ordinal) && path.EndsWith(".md", StringComparison.Ordinal);

    private static bool Exists(string path) =>
        File.Exists(Path.Combine(Root, path)) || Directory.Exists(Path.Combine(Root, path));

    /// <summary>Every .md under docs/, relative to the repository with '/' separators.</summary>
    private static IEnumerable<string> DocPages() =>
        Directory.GetFiles(Path.Combine(Root, "docs"), "*.md", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal);

    private static IEnumerable<string> MarkdownLinksOf(string page) => RelativeLinksOf(page).Select(l => l.Target);

    private static IReadOnlyList<Link> RelativeLinksOf(string page) => LinksIn(page, File.ReadAllText(Path.Combine(Root, page)));

    /// <summary>
    /// The relative links of a page's text, each resolved against the page's folder (the anchor dropped). Code (fenced and
    /// inline) is left out: a link shown as an example is not one.
    /// </summary>
    private static IReadOnlyList<Link> LinksIn(string page, string text)
    {
        var prose = InlineCode().Replace(FencedCode().Replace(text, ""), "");
        var folder = Path.GetDirectoryName(page)!.Replace(Path.DirectorySeparatorChar, '/');
        return MarkdownLink().Matches(prose)
            .Select(m => m.Groups["target"].Value)
            .Where(t => !t.StartsWith('#') && !UriScheme().IsMatch(t))
            .Select(t => new Link(t, Normalise(folder, t.Split('#')[0])))
            .ToList();
    }

    /// <summary><paramref name="target"/> from <paramref name="folder"/>, relative to the repository, '..' applied.</summary>
    private static string Normalise(string folder, string target)
    {
        var parts = new List<string>();
        foreach (var part in (folder.Length > 0 ? folder + "/" + target : target).Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == ".." && parts.Count > 0) parts.RemoveAt(parts.Count - 1);
            else parts.Add(part);
        }
        return string.Join('/', parts);
    }

    private sealed record Link(string Written, string Target);

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex UriScheme();

    [GeneratedRegex(@"```.*?```", RegexOptions.Singleline)]
    private static partial Regex FencedCode();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();
}
