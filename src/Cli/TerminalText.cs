using System.Buffers;
using System.Globalization;
using System.Text;

namespace Hive.Cli;

/// <summary>
/// Text bound for the operator's terminal, made inert. Much of what hivectl prints was written by agents (message bodies,
/// questions, answers, log lines, event payloads), and a terminal obeys what it is sent: an escape sequence can retitle
/// the window, write the clipboard (OSC 52), clear or redraw the screen, and bidi or zero-width characters can make the
/// text read otherwise than it is. So every character a terminal could act on, or that shows nothing, is printed as a
/// visible escape in one form, Rust's <c>\u{hex}</c> (the code point in lowercase hex): ESC is <c>\u{1b}</c>, RLO
/// <c>\u{202e}</c>. That is C0 controls except newline and tab (the layout of lines: tables, log lines, one event per
/// line), DEL, C1 controls (U+0080-U+009F), line and paragraph separators, every format character (category Cf: bidi
/// embeddings, overrides, isolates and marks, zero-width characters, U+FEFF, tag characters), and a lone surrogate.
/// A backslash is left as it is: the text <c>\u{1b}</c> and an escaped ESC look alike, and neither does anything.
/// </summary>
public static class TerminalText
{
    public static string Escape(string text) => FirstUnsafe(text) < 0 ? text : Escape(text.AsSpan());

    public static string Escape(ReadOnlySpan<char> text)
    {
        var first = FirstUnsafe(text);
        if (first < 0) return text.ToString();
        var escaped = new StringBuilder(text.Length + 16).Append(text[..first]);
        for (var rest = text[first..]; !rest.IsEmpty;)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var used) != OperationStatus.Done)
            {
                AppendEscape(escaped, rest[0]); // a lone surrogate: no character at all
                rest = rest[1..];
                continue;
            }
            if (IsUnsafe(rune)) AppendEscape(escaped, rune.Value);
            else escaped.Append(rest[..used]);
            rest = rest[used..];
        }
        return escaped.ToString();
    }

    private static int FirstUnsafe(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text[i..], out var rune, out var used) != OperationStatus.Done || IsUnsafe(rune)) return i;
            i += used;
        }
        return -1;
    }

    private static bool IsUnsafe(Rune rune) => rune.Value switch
    {
        '\n' or '\t' => false,
        < 0x20 or 0x7f => true,
        >= 0x80 and <= 0x9f => true,
        _ => Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator,
    };

    private static void AppendEscape(StringBuilder text, int codePoint) =>
        text.Append("\\u{").Append(codePoint.ToString("x", CultureInfo.InvariantCulture)).Append('}');
}

/// <summary>
/// The operator's terminal as a <see cref="TextWriter"/>: whatever is written reaches <paramref name="terminal"/> through
/// <see cref="TerminalText.Escape(string)"/>. hivectl's human output is written only through these (see
/// <see cref="CliContext"/>), so no command can print host text raw. Each write is escaped on its own: a surrogate pair
/// split across two writes would show as two escapes (hivectl writes whole strings).
/// </summary>
public sealed class TerminalWriter(TextWriter terminal) : TextWriter
{
    public override Encoding Encoding => terminal.Encoding;

    public override IFormatProvider FormatProvider => terminal.FormatProvider;

    public override void Write(char value) => Write(new ReadOnlySpan<char>(in value));

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(ReadOnlySpan<char> buffer) => terminal.Write(TerminalText.Escape(buffer));

    public override void Write(string? value)
    {
        if (value is not null) terminal.Write(TerminalText.Escape(value));
    }

    public override void Flush() => terminal.Flush();
}
