using System.Text;
using System.Text.RegularExpressions;

namespace Hive.Tests.Architecture;

/// <summary>
/// The names SQL text uses as tables: whatever follows FROM, JOIN, INTO, UPDATE, TABLE, ON or REFERENCES (so DELETE
/// FROM, INSERT INTO, CREATE TABLE/INDEX/TRIGGER ... ON, ALTER/DROP TABLE, foreign keys), bare or quoted
/// (<c>"t"</c>, <c>[t]</c>, <c>`t`</c>, <c>'t'</c>), optionally <c>main.</c>-qualified, and each further table of a
/// comma list (<c>FROM a x, b y</c>). Case-insensitive, as SQLite's identifiers are. It over-approximates (a
/// column after ON, an alias) on purpose: only names that are another feature's table are ever reported.
/// </summary>
internal static partial class SqlTableNames
{
    public sealed record Use(string Name, int Line);

    public static IReadOnlyList<Use> In(string text) =>
        TableUse().Matches(text)
            .SelectMany(m => m.Groups["name"].Captures)
            .Select(c => new Use(Unquote(text, c), LineOf(text, c.Index)))
            .ToList();

    private static string Unquote(string text, Capture name)
    {
        var quote = name.Index > 0 ? text[name.Index - 1] : ' ';
        return quote switch
        {
            '"' => name.Value.Replace("\"\"", "\"", StringComparison.Ordinal),
            '`' => name.Value.Replace("``", "`", StringComparison.Ordinal),
            '\'' => name.Value.Replace("''", "'", StringComparison.Ordinal),
            _ => name.Value,
        };
    }

    private static int LineOf(string text, int index) => 1 + text.AsSpan(0, index).Count('\n');

    private const string Name = """(?:"(?<name>(?:[^"]|"")+)"|\[(?<name>[^\]]+)\]|`(?<name>(?:[^`]|``)+)`|'(?<name>(?:[^']|'')+)'|(?<name>[A-Za-z_][\w$]*))""";
    private const string Qualified = $"""(?:(?:main|temp|"main"|"temp")\s*\.\s*)?{Name}""";
    private const string NotAKeyword = @"(?!(?:WHERE|JOIN|ON|USING|ORDER|GROUP|LIMIT|LEFT|RIGHT|FULL|INNER|OUTER|CROSS|NATURAL|SET|VALUES|RETURNING|UNION|EXCEPT|INTERSECT|HAVING|WINDOW|SELECT|DEFAULT)\b)";
    private const string Alias = $@"(?:\s+(?:AS\s+)?{NotAKeyword}[A-Za-z_]\w*)?";

    [GeneratedRegex(
        $@"(?<![\w$.])(?:FROM|JOIN|INTO|UPDATE(?:\s+OR\s+\w+)?|TABLE(?:\s+IF\s+(?:NOT\s+)?EXISTS)?|ON|REFERENCES)\s+{Qualified}(?:{Alias}\s*,\s*{Qualified})*",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TableUse();

    /// <summary>
    /// <paramref name="source"/> with its comments blanked (newlines kept, so line numbers hold): <c>//</c> and
    /// <c>/* */</c> outside string literals for C#, <c>--</c> and <c>/* */</c> outside quotes for SQL. Prose in a
    /// comment ("reminders land in the inbox as messages") is not SQL.
    /// </summary>
    public static string WithoutComments(string source, bool isSql)
    {
        var text = new StringBuilder(source);
        var i = 0;
        while (i < source.Length)
        {
            var c = source[i];
            var next = i + 1 < source.Length ? source[i + 1] : '\0';
            if ((c == '/' && next == '/' && !isSql) || (c == '-' && next == '-' && isSql))
                i = Blank(text, i, source.IndexOf('\n', i) is var end and >= 0 ? end : source.Length);
            else if (c == '/' && next == '*')
                i = Blank(text, i, source.IndexOf("*/", i + 2, StringComparison.Ordinal) is var end and >= 0 ? end + 2 : source.Length);
            else if (c is '"' or '\'' || (isSql && c is '`' or '['))
                i = SkipQuoted(source, i, isSql);
            else
                i++;
        }
        return text.ToString();
    }

    private static int Blank(StringBuilder text, int from, int to)
    {
        for (var i = from; i < to; i++)
            if (text[i] != '\n') text[i] = ' ';
        return to;
    }

    /// <summary>The index just after the literal (or quoted identifier) that starts at <paramref name="start"/>.</summary>
    private static int SkipQuoted(string source, int start, bool isSql)
    {
        var open = source[start];
        if (isSql)
        {
            var close = open == '[' ? ']' : open;
            var end = source.IndexOf(close, start + 1);
            return end < 0 ? source.Length : end + 1; // a doubled quote is two literals back to back: same result
        }
        var quotes = 0;
        while (start + quotes < source.Length && source[start + quotes] == '"') quotes++;
        if (open == '"' && quotes >= 3) // raw string: ends at the same run of quotes
        {
            var end = source.IndexOf(new string('"', quotes), start + quotes, StringComparison.Ordinal);
            return end < 0 ? source.Length : end + quotes;
        }
        var verbatim = open == '"' && start > 0 && (source[start - 1] == '@' || (start > 1 && source[start - 2] == '@'));
        for (var i = start + 1; i < source.Length; i++)
        {
            if (verbatim && source[i] == '"')
            {
                if (i + 1 < source.Length && source[i + 1] == '"') { i++; continue; }
                return i + 1;
            }
            if (!verbatim && source[i] == '\\') { i++; continue; }
            if (!verbatim && (source[i] == open || source[i] == '\n')) return i + 1;
        }
        return source.Length;
    }
}
