using System.Text;

namespace Hive.Cli.Commands.Agent.Run.Pty;

/// <summary>
/// What a terminal program's screen shows: a grid of rows × columns its output is written into as an xterm would (text
/// at the cursor, wrapping at the right edge; carriage return, line feed and scrolling, within a scrolling region; cursor
/// moves; erasing; lines and characters inserted and deleted; the alternate screen). Colours and other attributes are
/// dropped: the page shows text. Hand-written because what a line-oriented CLI uses is a small subset, and a terminal
/// emulator library would be a dependency of every agent's hivectl. <see cref="TerminalParser"/> turns bytes into these calls.
/// </summary>
internal sealed class TerminalScreen
{
    private static readonly Rune Blank = new(' ');

    private Rune[][] _cells;
    private Rune[][]? _mainCells; // the main screen while the alternate one is shown
    private (int Row, int Column) _savedCursor;
    private bool _wrapPending; // the last column was written: the next character starts a new line
    private int _top, _bottom; // the scrolling region, inclusive

    public TerminalScreen(int columns, int rows)
    {
        (Columns, Rows) = (columns, rows);
        _cells = NewCells();
        _bottom = rows - 1;
    }

    public int Columns { get; }

    public int Rows { get; }

    public int Row { get; private set; }

    public int Column { get; private set; }

    /// <summary>The line the cursor is on, up to the cursor: what a person reads as the prompt before typing.</summary>
    public string CursorLine => Join(_cells[Row].AsSpan(0, Column));

    /// <summary>The screen as text: each row without its trailing blanks, the blank rows at the bottom left out.</summary>
    public string Text
    {
        get
        {
            var rows = _cells.Select(row => Join(row).TrimEnd(' ')).ToList();
            while (rows.Count > 0 && rows[^1].Length == 0) rows.RemoveAt(rows.Count - 1);
            return string.Join('\n', rows);
        }
    }

    public void Print(Rune rune)
    {
        if (_wrapPending)
        {
            Column = 0;
            LineFeed();
        }
        _cells[Row][Column] = rune;
        if (Column == Columns - 1) _wrapPending = true;
        else Column++;
    }

    public void CarriageReturn() => MoveTo(Row, 0);

    /// <summary>Down a row, the region scrolling up at its bottom (a terminal's LF: the tty driver adds the CR before it).</summary>
    public void LineFeed()
    {
        _wrapPending = false;
        if (Row == _bottom) ScrollUp(1);
        else if (Row < Rows - 1) Row++;
    }

    /// <summary>Up a row, the region scrolling down at its top (ESC M).</summary>
    public void ReverseIndex()
    {
        _wrapPending = false;
        if (Row == _top) ScrollDown(1);
        else if (Row > 0) Row--;
    }

    public void Backspace() => MoveTo(Row, Column - 1);

    public void Tab() => MoveTo(Row, (Column / 8 + 1) * 8);

    /// <summary>The cursor to a row and column counted from 0, kept on the screen.</summary>
    public void MoveTo(int row, int column)
    {
        _wrapPending = false;
        Row = Math.Clamp(row, 0, Rows - 1);
        Column = Math.Clamp(column, 0, Columns - 1);
    }

    /// <summary>ED: 0 from the cursor to the end, 1 from the start to the cursor, 2 and 3 all.</summary>
    public void EraseInDisplay(int mode)
    {
        if (mode == 0)
        {
            EraseInLine(0);
            for (var r = Row + 1; r < Rows; r++) Array.Fill(_cells[r], Blank);
        }
        else if (mode == 1)
        {
            EraseInLine(1);
            for (var r = 0; r < Row; r++) Array.Fill(_cells[r], Blank);
        }
        else
        {
            foreach (var row in _cells) Array.Fill(row, Blank);
        }
    }

    /// <summary>EL: 0 from the cursor to the end of the line, 1 from its start to the cursor, 2 all of it.</summary>
    public void EraseInLine(int mode)
    {
        var row = _cells[Row];
        if (mode == 0) Array.Fill(row, Blank, Column, Columns - Column);
        else if (mode == 1) Array.Fill(row, Blank, 0, Column + 1);
        else Array.Fill(row, Blank);
    }

    /// <summary>ECH: <paramref name="count"/> characters blanked from the cursor on, the cursor staying.</summary>
    public void EraseCharacters(int count) => Array.Fill(_cells[Row], Blank, Column, Math.Min(count, Columns - Column));

    /// <summary>DCH: characters deleted at the cursor, the rest of the line moving left.</summary>
    public void DeleteCharacters(int count)
    {
        var row = _cells[Row];
        count = Math.Min(count, Columns - Column);
        Array.Copy(row, Column + count, row, Column, Columns - Column - count);
        Array.Fill(row, Blank, Columns - count, count);
    }

    /// <summary>ICH: blanks inserted at the cursor, the rest of the line moving right (what passes the edge is lost).</summary>
    public void InsertCharacters(int count)
    {
        var row = _cells[Row];
        count = Math.Min(count, Columns - Column);
        Array.Copy(row, Column, row, Column + count, Columns - Column - count);
        Array.Fill(row, Blank, Column, count);
    }

    /// <summary>IL: blank lines inserted at the cursor's row, within the scrolling region.</summary>
    public void InsertLines(int count)
    {
        if (Row < _top || Row > _bottom) return;
        Shift(Row, _bottom, -count);
        Column = 0;
    }

    /// <summary>DL: lines deleted at the cursor's row, within the scrolling region.</summary>
    public void DeleteLines(int count)
    {
        if (Row < _top || Row > _bottom) return;
        Shift(Row, _bottom, count);
        Column = 0;
    }

    public void ScrollUp(int count) => Shift(_top, _bottom, count);

    public void ScrollDown(int count) => Shift(_top, _bottom, -count);

    /// <summary>DECSTBM: the scrolling region, rows counted from 0 (an impossible one means the whole screen); the cursor home.</summary>
    public void SetScrollingRegion(int top, int bottom)
    {
        (_top, _bottom) = top < bottom && bottom < Rows ? (top, bottom) : (0, Rows - 1);
        MoveTo(0, 0);
    }

    public void SaveCursor() => _savedCursor = (Row, Column);

    public void RestoreCursor() => MoveTo(_savedCursor.Row, _savedCursor.Column);

    /// <summary>The alternate screen (a full-screen program's): shown blank, the main one kept to come back to.</summary>
    public void UseAlternateScreen(bool alternate)
    {
        if (alternate == _mainCells is not null) return;
        if (alternate)
        {
            SaveCursor();
            _mainCells = _cells;
            _cells = NewCells();
        }
        else
        {
            _cells = _mainCells!;
            _mainCells = null;
            RestoreCursor();
        }
    }

    /// <summary>RIS: everything back as it started.</summary>
    public void Reset()
    {
        _cells = NewCells();
        _mainCells = null;
        (_top, _bottom, _savedCursor) = (0, Rows - 1, (0, 0));
        MoveTo(0, 0);
    }

    /// <summary>Rows <paramref name="first"/> to <paramref name="last"/> moved up by <paramref name="count"/> (down when negative), blanks coming in.</summary>
    private void Shift(int first, int last, int count)
    {
        var span = last - first + 1;
        count = Math.Clamp(count, -span, span);
        if (count == 0) return;
        var moved = _cells[first..(last + 1)];
        for (var i = 0; i < span; i++)
        {
            var from = i + count;
            _cells[first + i] = from >= 0 && from < span ? moved[from] : NewRow();
        }
    }

    private Rune[][] NewCells() => Enumerable.Range(0, Rows).Select(_ => NewRow()).ToArray();

    private Rune[] NewRow()
    {
        var row = new Rune[Columns];
        Array.Fill(row, Blank);
        return row;
    }

    private static string Join(ReadOnlySpan<Rune> runes)
    {
        var text = new StringBuilder(runes.Length);
        foreach (var rune in runes) text.Append(rune.ToString());
        return text.ToString();
    }
}
