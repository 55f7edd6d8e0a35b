using System.Globalization;
using System.Text;

namespace Hive.Cli.Commands.Agent.Run.Pty;

/// <summary>
/// A terminal program's output (UTF-8, decoded across reads) read into a <see cref="TerminalScreen"/>: text, C0 controls,
/// ESC sequences, CSI sequences (the ones the screen models; the rest, colours and modes among them, read and dropped),
/// and strings (OSC: window titles, clipboard; DCS, APC, PM, SOS) skipped whole. The two questions a program may ask
/// its terminal before it draws (where is the cursor, what are you) are answered through <paramref name="answer"/>, as
/// an xterm would, since some programs wait for the answer.
/// </summary>
internal sealed class TerminalParser(TerminalScreen screen, Action<string> answer)
{
    private const char Escape = '\u001b';

    private enum State { Ground, Escape, EscapeArgument, Csi, String, StringEscape }

    private readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    private readonly StringBuilder _sequence = new();
    private State _state;
    private bool _stringEndsOnBell;

    public void Read(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[_utf8.GetCharCount(bytes, flush: false)];
        var count = _utf8.GetChars(bytes, chars, flush: false);
        var text = new string(chars, 0, count);
        foreach (var rune in text.EnumerateRunes()) Read(rune);
    }

    private void Read(Rune rune)
    {
        var c = rune.IsBmp ? (char)rune.Value : '\0';
        if (c is '\u0018' or '\u001a')
        {
            _state = State.Ground; // CAN, SUB: the sequence is abandoned
            return;
        }
        switch (_state)
        {
            case State.Ground:
                if (c == Escape) _state = State.Escape;
                else if (rune.Value < 0x20) Control(c);
                else if (rune.Value is not (0x7f or (>= 0x80 and < 0xa0))) screen.Print(rune);
                break;
            case State.Escape:
                EscapeFinal(c);
                break;
            case State.EscapeArgument:
                _state = State.Ground; // the one character after ESC ( ) * + # % (a character set, a line size): dropped
                break;
            case State.Csi:
                if (c == Escape) _state = State.Escape;
                else if (rune.Value < 0x20) Control(c); // a control inside a sequence is acted on, as a terminal does
                else if (c is >= '@' and <= '~')
                {
                    _state = State.Ground;
                    Csi(_sequence.ToString(), c);
                }
                else if (_sequence.Length < 64) _sequence.Append(c);
                break;
            case State.String:
                if (c == Escape) _state = State.StringEscape;
                else if (c == '\a' && _stringEndsOnBell) _state = State.Ground;
                break;
            case State.StringEscape:
                _state = c == '\\' ? State.Ground : State.String;
                break;
        }
    }

    private void Control(char c)
    {
        switch (c)
        {
            case '\r': screen.CarriageReturn(); break;
            case '\n' or '\v' or '\f': screen.LineFeed(); break;
            case '\b': screen.Backspace(); break;
            case '\t': screen.Tab(); break;
        }
    }

    private void EscapeFinal(char c)
    {
        _state = State.Ground;
        switch (c)
        {
            case '[':
                _sequence.Clear();
                _state = State.Csi;
                break;
            case ']' or 'P' or 'X' or '^' or '_':
                _stringEndsOnBell = c == ']';
                _state = State.String;
                break;
            case '(' or ')' or '*' or '+' or '#' or '%':
                _state = State.EscapeArgument;
                break;
            case '7': screen.SaveCursor(); break;
            case '8': screen.RestoreCursor(); break;
            case 'D': screen.LineFeed(); break;
            case 'E':
                screen.CarriageReturn();
                screen.LineFeed();
                break;
            case 'M': screen.ReverseIndex(); break;
            case 'c': screen.Reset(); break;
        }
    }

    private void Csi(string body, char final)
    {
        var marker = body.Length > 0 && body[0] is '?' or '>' or '=' or '<' ? body[0] : '\0';
        var fields = (marker == '\0' ? body : body[1..]).Split(';', ':');
        int Arg(int i, int fallback) =>
            i < fields.Length && int.TryParse(fields[i], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? Math.Min(n, 10_000) : fallback;
        var n = Arg(0, 1);
        if (marker == '?')
        {
            if (final is 'h' or 'l' && fields.Any(f => f is "1049" or "1047" or "47")) screen.UseAlternateScreen(final == 'h');
            return;
        }
        if (marker == '>')
        {
            if (final == 'c') answer($"{Escape}[>0;0;0c");
            return;
        }
        if (marker != '\0' || body.Any(ch => ch is >= ' ' and <= '/')) return; // other private or intermediate forms: not modelled
        switch (final)
        {
            case 'A': screen.MoveTo(screen.Row - n, screen.Column); break;
            case 'B' or 'e': screen.MoveTo(screen.Row + n, screen.Column); break;
            case 'C' or 'a': screen.MoveTo(screen.Row, screen.Column + n); break;
            case 'D': screen.MoveTo(screen.Row, screen.Column - n); break;
            case 'E': screen.MoveTo(screen.Row + n, 0); break;
            case 'F': screen.MoveTo(screen.Row - n, 0); break;
            case 'G' or '`': screen.MoveTo(screen.Row, n - 1); break;
            case 'd': screen.MoveTo(n - 1, screen.Column); break;
            case 'H' or 'f': screen.MoveTo(n - 1, Arg(1, 1) - 1); break;
            case 'J': screen.EraseInDisplay(Arg(0, 0)); break;
            case 'K': screen.EraseInLine(Arg(0, 0)); break;
            case 'X': screen.EraseCharacters(n); break;
            case 'P': screen.DeleteCharacters(n); break;
            case '@': screen.InsertCharacters(n); break;
            case 'L': screen.InsertLines(n); break;
            case 'M': screen.DeleteLines(n); break;
            case 'S': screen.ScrollUp(n); break;
            case 'T': screen.ScrollDown(n); break;
            case 'r': screen.SetScrollingRegion(n - 1, Arg(1, screen.Rows) - 1); break;
            case 's': screen.SaveCursor(); break;
            case 'u': screen.RestoreCursor(); break;
            case 'c': answer($"{Escape}[?1;2c"); break;
            case 'n' when Arg(0, 0) == 6: answer($"{Escape}[{screen.Row + 1};{screen.Column + 1}R"); break;
            case 'n' when Arg(0, 0) == 5: answer($"{Escape}[0n"); break;
        }
    }
}
