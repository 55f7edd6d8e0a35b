namespace Hive.Features.StateFiles;

/// <summary>
/// Finds the tokens in a body that name readable state files (ScanValidatedPaths): the server is the only judge
/// of what is a file, and every feature that shows a body (messages, questions, answers, reminders) asks this.
/// </summary>
public interface IFileRefScanner
{
    /// <summary>Distinct tokens the allow-list accepts as existing regular files, in order of first appearance.</summary>
    IReadOnlyList<string> Scan(string? text);
}

internal sealed class FileRefScanner(IStateFileAllowList allowList) : IFileRefScanner
{
    /// <summary>Candidates checked per text, so a hostile body cannot make one scan touch the disk without bound.</summary>
    public const int MaxCandidates = 64;

    private const string TrailingPunctuation = ".,;:)]}'\"`";

    public IReadOnlyList<string> Scan(string? text)
    {
        if (string.IsNullOrEmpty(text)) return [];
        List<string>? refs = null;
        HashSet<string>? seen = null;
        var checkedCount = 0;
        var i = 0;
        // One left-to-right pass: a token starts with '/' at the start of the text or after a separator, and runs
        // to the next separator. No regex, no backtracking.
        while (i < text.Length && checkedCount < MaxCandidates)
        {
            if (text[i] != '/' || (i > 0 && !StartsToken(text[i - 1])))
            {
                i++;
                continue;
            }
            var end = i;
            while (end < text.Length && !EndsToken(text[end])) end++;
            var tokenEnd = end;
            while (tokenEnd > i && TrailingPunctuation.Contains(text[tokenEnd - 1])) tokenEnd--;
            var token = text[i..tokenEnd];
            i = end;
            if (token.Length < 2) continue;

            seen ??= new HashSet<string>(StringComparer.Ordinal);
            if (!seen.Add(token)) continue;
            checkedCount++;
            if (allowList.Accepts(token)) (refs ??= []).Add(token);
        }
        return refs ?? (IReadOnlyList<string>)[];
    }

    private static bool StartsToken(char previous) =>
        char.IsWhiteSpace(previous) || previous is '(' or '[' or '{' or '<' or '"' or '\'' or '`' or '=' or ',' or ';' or ':';

    private static bool EndsToken(char c) => char.IsWhiteSpace(c) || c is '"' or '\'' or '`' or '<' or '>';
}
