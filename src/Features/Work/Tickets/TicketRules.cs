using System.Text;

namespace Hive.Features.Work;

/// <summary>What a ticket's fields may hold: the one set of rules its create, edit and submit validators apply, and how its text is cut to fit a message.</summary>
internal static class TicketRules
{
    public const string TitleMessage = "title has no control or bidirectional-override characters";
    public const string PriorityMessage = "priority is a whole number from -1000 to 1000";
    public const string LabelMessage = "a label is 1 to 40 of a-z, 0-9, '-', '_', ':'";
    public const string DependencyMessage = "a dependency is a ticket's id (a positive number)";
    public const string TickMessage = "each done item is an item's text or its number";
    public const int MaxTicks = 64;

    /// <summary>No control character, and none that turns text around on a screen (a title is shown in offers and on the board).</summary>
    public static bool IsCleanTitle(string? title) =>
        title is null || !title.Any(c => char.IsControl(c) || c is '\u202A' or '\u202B' or '\u202C' or '\u202D' or '\u202E' or '\u2066' or '\u2067' or '\u2068' or '\u2069');

    public static bool IsPriority(int? priority) => priority is null or >= -1000 and <= 1000;

    public static bool IsLabel(string? label) =>
        label is { Length: > 0 and <= 40 } && label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or ':');

    public static bool IsTick(string? tick) => tick is { Length: > 0 and <= 8000 };

    public static bool FitsBody(string? body) => body is null || Encoding.UTF8.GetByteCount(body) <= CreateTicket.MaxBodyBytes;

    /// <summary><paramref name="text"/> cut to at most <paramref name="maxBytes"/> UTF-8 bytes (an ellipsis saying so), never inside a character.</summary>
    public static string Clip(string text, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= maxBytes) return text;
        var budget = maxBytes - 3;
        var end = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if ((budget -= rune.Utf8SequenceLength) < 0) break;
            end += rune.Utf16SequenceLength;
        }
        return text[..end] + "…";
    }
}
