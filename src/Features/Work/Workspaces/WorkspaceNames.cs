using System.Text;
using System.Text.RegularExpressions;

namespace Hive.Features.Work.Workspaces;

/// <summary>The names a workspace gives things: its branch, and the checks on names that reach git's command line.</summary>
internal static partial class WorkspaceNames
{
    public const int SlugLength = 40;

    /// <summary><c>ticket/&lt;id&gt;-&lt;slug&gt;</c>.</summary>
    public static string BranchOf(long ticketId, string title) => $"ticket/{ticketId}-{Slug(title)}";

    /// <summary>
    /// The title in lowercase ASCII letters and digits, every other run of characters one dash (accents dropped first:
    /// "Réparer" → "reparer"), no dash at either end, at most <see cref="SlugLength"/> characters; "ticket" when nothing is left.
    /// </summary>
    public static string Slug(string? title)
    {
        var text = new StringBuilder();
        foreach (var c in title ?? "")
        {
            var lower = Fold(char.ToLowerInvariant(c));
            if (lower is >= 'a' and <= 'z' or >= '0' and <= '9') text.Append(lower);
            else if (text.Length > 0 && text[^1] != '-') text.Append('-');
            if (text.Length > SlugLength) break;
        }
        var slug = text.ToString();
        if (slug.Length > SlugLength) slug = slug[..SlugLength];
        slug = slug.Trim('-');
        return slug.Length > 0 ? slug : "ticket";
    }

    // The hive runs with invariant globalization (no ICU), where string.Normalize does not decompose: the accented Latin
    // letters are folded by this table instead (each letter of the first string maps to the letter at the same place in the second).
    private const string Accented = "àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž";
    private const string Plain = "aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz";

    private static char Fold(char c) => Accented.IndexOf(c) is var i and >= 0 ? Plain[i] : c;

    /// <summary>A branch name safe to hand git: letters, digits, <c>._/-</c>, no <c>..</c>, no leading dash or slash, no <c>.lock</c> end.</summary>
    public static bool IsBranch(string? branch) => branch is { Length: > 0 and <= 200 } && BranchPattern().IsMatch(branch)
        && !branch.Contains("..", StringComparison.Ordinal) && !branch.Contains("//", StringComparison.Ordinal)
        && !branch.EndsWith('/') && !branch.EndsWith(".lock", StringComparison.Ordinal);

    /// <summary>A commit id or an abbreviation of one (4 to 64 hex digits).</summary>
    public static bool IsSha(string? sha) => sha is not null && ShaPattern().IsMatch(sha);

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9._/-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex BranchPattern();

    [GeneratedRegex(@"^[0-9a-fA-F]{4,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ShaPattern();
}
